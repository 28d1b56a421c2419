import { z } from 'zod';
import { cryptoDecimals, defaultPairs, fiatCurrencies } from '../quotes/pairs.ts';
import { parseDecimal, toMinor } from '../money/decimal.ts';

/** A USDT amount as a decimal string with at most six decimals. */
const usdtAmount = z.string().refine((text) => toMinor(text, cryptoDecimals) !== null, 'must be a decimal with at most 6 decimals');
const positiveDecimal = z.string().refine((text) => (parseDecimal(text)?.units ?? 0n) > 0n, 'must be a positive decimal');
const percent = z.string().refine((text) => {
  const value = parseDecimal(text);
  return value !== null && value.units < 100n * 10n ** BigInt(value.scale);
}, 'must be a decimal below 100');

const feesSchema = z.strictObject({ commissionPercent: percent, processingFee: usdtAmount, taxFee: usdtAmount, networkFee: usdtAmount });

const pairSchema = z
  .strictObject({ rate: positiveDecimal, minFromAmount: usdtAmount, maxFromAmount: usdtAmount, fees: feesSchema })
  .refine((p) => toMinor(p.minFromAmount, cryptoDecimals)! <= toMinor(p.maxFromAmount, cryptoDecimals)!, {
    message: 'minFromAmount must not exceed maxFromAmount',
    path: ['minFromAmount'],
  });

/** Everything the emulator lets a test change at run time (`GET/PUT /__emu/config`). */
export const settingsSchema = z.strictObject({
  webhookUrl: z.url({ protocol: /^https?$/ }).nullable(),
  webhookSecret: z.string().min(1),
  /** `dot` signs `t + "." + body`; `concat` signs `t + body`. */
  signatureFormat: z.enum(['dot', 'concat']),
  webhookDelivery: z.boolean(),
  webhookRetryBaseDelayMs: z.number().int().min(0).max(3_600_000),
  /** Attempts in all, the first one included; Alfred retries at least ten times. */
  webhookMaxAttempts: z.number().int().min(1).max(50),
  webhookTimeoutMs: z.number().int().min(1).max(120_000),
  bankUsaWorks: z.boolean(),
  quoteTtlSeconds: z.number().int().min(0).max(86_400),
  pairs: z.record(z.enum(fiatCurrencies), pairSchema),
});

export type EmulatorSettings = z.infer<typeof settingsSchema>;

/** A partial change: absent fields keep their value; pairs and their fees merge field by field. */
export const settingsPatchSchema = z
  .strictObject({
    ...settingsSchema.shape,
    pairs: z.partialRecord(
      z.enum(fiatCurrencies),
      z.strictObject({ rate: z.string(), minFromAmount: z.string(), maxFromAmount: z.string(), fees: feesSchema.partial() }).partial(),
    ),
  })
  .partial();

export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export function defaultSettings(): EmulatorSettings {
  return {
    webhookUrl: null,
    webhookSecret: 'sandbox-webhook-secret',
    signatureFormat: 'dot',
    webhookDelivery: true,
    webhookRetryBaseDelayMs: 1_000,
    webhookMaxAttempts: 11,
    webhookTimeoutMs: 10_000,
    bankUsaWorks: false,
    quoteTtlSeconds: 300,
    pairs: defaultPairs(),
  };
}

/** The settings a patch leads to, validated as a whole (so a new minimum cannot pass the maximum). */
export function mergeSettings(current: EmulatorSettings, patch: SettingsPatch): z.ZodSafeParseResult<EmulatorSettings> {
  const pairs = structuredClone(current.pairs);
  for (const currency of fiatCurrencies) {
    const change = patch.pairs?.[currency];
    if (!change) continue;
    const { fees, ...rest } = change;
    pairs[currency] = { ...pairs[currency], ...rest, fees: { ...pairs[currency].fees, ...fees } };
  }
  return settingsSchema.safeParse({ ...current, ...patch, pairs });
}
