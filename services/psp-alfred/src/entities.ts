import { FiatAccountEntity } from './fiat-accounts/fiat-accounts-entity.ts';
import { TraderEntity } from './traders/traders-entity.ts';

/**
 * psp-alfred's CRUD data, as MikroORM entities over the tables the migrations made: traders (the
 * KYC mirror) and fiat accounts. Offramps, partner events and discrepancies are the money path and
 * its guards: raw statements through the kit's queryRows/queryRow.
 */
export const entities = [TraderEntity, FiatAccountEntity];
