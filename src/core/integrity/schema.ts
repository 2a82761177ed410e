import type { ValidateFunction } from 'ajv';
import schema from '../schema/envelope-v1.schema.json';
import type { EnvelopeV1 } from '../sink/envelope';

let compiled: ValidateFunction<EnvelopeV1> | undefined;

/** The published envelope schema, compiled once. */
export function envelopeValidator(): ValidateFunction<EnvelopeV1> {
  if (!compiled) {
    // Required here, not at the top: ajv takes tens of ms to load, and verify's fast path (lines
    // whose crc checks) never needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: Ajv } = require('ajv') as typeof import('ajv');
    const ajv = new Ajv({ allErrors: false, strict: true });
    compiled = ajv.compile<EnvelopeV1>(schema);
  }
  return compiled;
}

export function schemaMessage(v: ValidateFunction): string {
  const e = v.errors?.[0];
  if (!e) return 'does not match envelope v1';
  const where = e.instancePath ? `field "${e.instancePath.slice(1).replace(/\//g, '.')}"` : 'object';
  if (e.keyword === 'required') return `missing field "${(e.params as { missingProperty: string }).missingProperty}"`;
  if (e.keyword === 'additionalProperties') return `unexpected field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}
