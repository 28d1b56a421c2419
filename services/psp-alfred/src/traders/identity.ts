import { randomInt } from 'node:crypto';
import { stdnum, type Validator } from 'stdnum';
import { z } from 'zod';

/** The identity the platform verified (platform KYC); what Alfred's KYC submission is built from. */
export const identity = z.object({
  firstName: z.string().min(1),
  lastName: z.string().min(1),
  dateOfBirth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  country: z.string().length(2),
  city: z.string().min(1),
  state: z.string().min(1),
  zipCode: z.string().min(1),
  address: z.string().min(1),
  documentType: z.string().min(1),
  documentNumber: z.string().min(1),
});
export type Identity = z.infer<typeof identity>;

interface CountryProfile {
  firstNames: string[];
  lastNames: string[];
  city: string;
  state: string;
  zipCode: string;
  street: string;
  documentType: string;
  validator: Validator | null;
  /** A number of the document's shape; the validator decides whether its check digits hold. */
  candidate(birth: Date, person: { firstName: string; lastName: string }): string;
}

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;
const digits = (n: number, firstNonZero = false) =>
  Array.from({ length: n }, (_, i) => String(i === 0 && firstNonZero ? 1 + randomInt(9) : randomInt(10))).join('');
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const yymmdd = (d: Date) => `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
const yyyymmdd = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
const letters = (text: string) =>
  text
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toUpperCase();
const consonant = (text: string) =>
  letters(text)
    .slice(1)
    .replace(/[AEIOU]/g, '')[0] ?? 'X';

const v = (country: string, name: string): Validator => {
  const found = stdnum[country]?.[name];
  if (!found) throw new Error(`stdnum has no ${country}.${name}`);
  return found;
};

/** Per country: plausible names and address, and the national id with its stdnum validator. */
const profiles: Record<string, CountryProfile> = {
  MX: {
    firstNames: ['Maria', 'Jose', 'Guadalupe', 'Luis'],
    lastNames: ['Hernandez', 'Garcia', 'Martinez', 'Lopez'],
    city: 'Ciudad de Mexico',
    state: 'CDMX',
    zipCode: '06600',
    street: 'Av. Paseo de la Reforma 222',
    documentType: 'CURP',
    validator: v('MX', 'curp'),
    candidate: (birth, p) => {
      const last = letters(p.lastName);
      const vowel = last.slice(1).match(/[AEIOU]/)?.[0] ?? 'X';
      return `${last[0]}${vowel}X${letters(p.firstName)[0]}${yymmdd(birth)}HDF${consonant(p.lastName)}X${consonant(p.firstName)}0${digits(1)}`;
    },
  },
  BR: {
    firstNames: ['Ana', 'Joao', 'Mariana', 'Pedro'],
    lastNames: ['Silva', 'Santos', 'Oliveira', 'Souza'],
    city: 'Sao Paulo',
    state: 'SP',
    zipCode: '01310-100',
    street: 'Av. Paulista 1000',
    documentType: 'CPF',
    validator: v('BR', 'cpf'),
    candidate: () => digits(11, true),
  },
  AR: {
    firstNames: ['Sofia', 'Mateo', 'Valentina', 'Santiago'],
    lastNames: ['Gonzalez', 'Rodriguez', 'Fernandez', 'Perez'],
    city: 'Buenos Aires',
    state: 'CABA',
    zipCode: 'C1002',
    street: 'Av. Corrientes 1234',
    documentType: 'DNI',
    validator: v('AR', 'dni'),
    candidate: () => digits(8, true),
  },
  CO: {
    firstNames: ['Camila', 'Andres', 'Daniela', 'Juan'],
    lastNames: ['Rodriguez', 'Gomez', 'Lopez', 'Ramirez'],
    city: 'Bogota',
    state: 'DC',
    zipCode: '110111',
    street: 'Carrera 7 # 71-21',
    documentType: 'NIT',
    validator: v('CO', 'nit'),
    candidate: () => digits(10, true),
  },
  DO: {
    firstNames: ['Carmen', 'Rafael', 'Yolanda', 'Miguel'],
    lastNames: ['Perez', 'Rodriguez', 'Santana', 'Reyes'],
    city: 'Santo Domingo',
    state: 'DN',
    zipCode: '10101',
    street: 'Av. Winston Churchill 25',
    documentType: 'CEDULA',
    validator: v('DO', 'cedula'),
    candidate: () => `001${digits(8)}`,
  },
  US: {
    firstNames: ['Emily', 'Michael', 'Jessica', 'David'],
    lastNames: ['Smith', 'Johnson', 'Brown', 'Miller'],
    city: 'New York',
    state: 'NY',
    zipCode: '10001',
    street: '350 Fifth Avenue',
    documentType: 'SSN',
    validator: v('US', 'ssn'),
    candidate: () => `${pad(1 + randomInt(665), 3)}${pad(1 + randomInt(98))}${pad(1 + randomInt(9998), 4)}`,
  },
  CN: {
    firstNames: ['Wei', 'Fang', 'Lei', 'Jing'],
    lastNames: ['Wang', 'Li', 'Zhang', 'Liu'],
    city: 'Beijing',
    state: 'BJ',
    zipCode: '100010',
    street: '1 Wangfujing Street',
    documentType: 'RIC',
    validator: v('CN', 'ric'),
    candidate: (birth) => `110101${yyyymmdd(birth)}${digits(3)}${pick('0123456789X'.split(''))}`,
  },
  CL: {
    firstNames: ['Javiera', 'Benjamin', 'Catalina', 'Vicente'],
    lastNames: ['Gonzalez', 'Munoz', 'Rojas', 'Diaz'],
    city: 'Santiago',
    state: 'RM',
    zipCode: '8320000',
    street: 'Av. Libertador Bernardo OHiggins 1449',
    documentType: 'RUN',
    validator: v('CL', 'run'),
    candidate: () => `${digits(8, true)}${pick('0123456789K'.split(''))}`,
  },
  BO: {
    firstNames: ['Lucia', 'Diego', 'Paola', 'Carlos'],
    lastNames: ['Mamani', 'Quispe', 'Flores', 'Choque'],
    city: 'La Paz',
    state: 'LP',
    zipCode: '0201',
    street: 'Av. 16 de Julio 1490',
    documentType: 'CI',
    validator: v('BO', 'ci'),
    candidate: () => `${digits(7, true)}LP`,
  },
  PE: {
    firstNames: ['Rosa', 'Jorge', 'Milagros', 'Cesar'],
    lastNames: ['Quispe', 'Flores', 'Sanchez', 'Rojas'],
    city: 'Lima',
    state: 'LIM',
    zipCode: '15001',
    street: 'Jr. de la Union 300',
    documentType: 'DNI',
    validator: v('PE', 'cui'),
    candidate: () => digits(8, true),
  },
};

/** Countries without a profile (no Alfred route) still get an identity, with a plain id number. */
const fallbackProfile: CountryProfile = {
  firstNames: ['Alex', 'Sam'],
  lastNames: ['Taylor', 'Morgan'],
  city: 'Capital',
  state: 'C',
  zipCode: '10000',
  street: '1 Main Street',
  documentType: 'ID',
  validator: null,
  candidate: () => digits(9, true),
};

/** Draws candidates until stdnum accepts one; the check digits are stdnum's, not ours. */
function documentNumber(profile: CountryProfile, birth: Date, person: { firstName: string; lastName: string }): string {
  for (let i = 0; i < 10_000; i++) {
    const candidate = profile.candidate(birth, person);
    if (!profile.validator) return candidate;
    const result = profile.validator.validate(candidate);
    if (result.isValid) return result.compact;
  }
  throw new Error(`no valid ${profile.documentType} drawn`);
}

/** A generated identity for a country: names, date of birth (an adult), address, a valid national id. */
export function generateIdentity(country: string, now = new Date()): Identity {
  const profile = profiles[country] ?? fallbackProfile;
  const person = { firstName: pick(profile.firstNames), lastName: pick(profile.lastNames) };
  const birth = new Date(Date.UTC(now.getUTCFullYear() - 25 - randomInt(30), randomInt(12), 1 + randomInt(28)));
  return {
    ...person,
    dateOfBirth: birth.toISOString().slice(0, 10),
    country,
    city: profile.city,
    state: profile.state,
    zipCode: profile.zipCode,
    address: `${profile.street}`,
    documentType: profile.documentType,
    documentNumber: documentNumber(profile, birth, person),
  };
}
