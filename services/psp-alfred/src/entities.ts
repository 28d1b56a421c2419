import { FiatAccountEntity } from './fiat-accounts/fiat-account-entity.ts';
import { TraderEntity } from './traders/trader-entity.ts';

/**
 * psp-alfred's CRUD data, as MikroORM entities over the tables the migrations made: traders (the
 * KYC mirror) and fiat accounts. Offramps, partner events and discrepancies are the money path and
 * its guards: raw statements through the kit's queryRows/queryRow.
 */
export const entities = [TraderEntity, FiatAccountEntity];
