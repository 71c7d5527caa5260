/**
 * Field specs of the API's response types: each TS type's fields, their wire kinds, and how to
 * turn the JSON into the type (amounts: decimal strings -> `bigint`; times: ISO strings ->
 * `Date`). The same specs are checked against the running server's `/openapi.json` by the tests,
 * so a field the server renames, retypes or adds fails the SDK's test run.
 */

export type Kind = "string" | "integer" | "amount" | "boolean" | "datetime" | "object" | "any";

export interface Field<K extends string = Kind | "ref" | "array", N extends boolean = boolean> {
  readonly kind: K;
  readonly nullable: N;
  /** For `ref`: the nested spec; for `array`: the item field. */
  readonly ref?: Spec;
  readonly items?: Field;
}

export interface Spec {
  readonly name: string;
  /** The server's OpenAPI schema this type is checked against. */
  readonly schema: string;
  readonly fields: Readonly<Record<string, Field>>;
}

export const f = {
  string: (): Field<"string", false> => ({ kind: "string", nullable: false }),
  integer: (): Field<"integer", false> => ({ kind: "integer", nullable: false }),
  amount: (): Field<"amount", false> => ({ kind: "amount", nullable: false }),
  boolean: (): Field<"boolean", false> => ({ kind: "boolean", nullable: false }),
  datetime: (): Field<"datetime", false> => ({ kind: "datetime", nullable: false }),
  object: (): Field<"object", false> => ({ kind: "object", nullable: false }),
  ref: (spec: Spec): Field<"ref", false> => ({ kind: "ref", nullable: false, ref: spec }),
  array: (items: Field): Field<"array", false> => ({ kind: "array", nullable: false, items }),
  nullable: <K extends string>(field: Field<K, false>): Field<K, true> => ({ ...field, nullable: true }),
};

/** The wire kind a TS field type needs: `bigint` is an amount, `Date` a date-time, ... */
type KindOf<T> = T extends bigint
  ? "amount"
  : T extends number
    ? "integer"
    : T extends string
      ? "string"
      : T extends boolean
        ? "boolean"
        : T extends Date
          ? "datetime"
          : T extends unknown[]
            ? "array"
            : "ref" | "object";
/** The field spec a TS field type needs: its kind, and nullable exactly when the type has null. */
export type FieldOf<T> = Field<KindOf<NonNullable<T>>, null extends T ? true : false>;

/**
 * A spec whose keys are exactly `T`'s, each of the kind and nullability of `T`'s field (checked
 * at compile time); the tests check the same spec against the server's OpenAPI at run time.
 */
export function spec<T>(name: string, schema: string, fields: { [K in keyof Required<T>]: FieldOf<T[K]> }): Spec {
  return { name, schema, fields: fields as unknown as Record<string, Field> };
}

export class SchemaMismatch extends Error {}

function convert(field: Field, value: unknown, path: string): unknown {
  if (value === null || value === undefined) {
    if (field.nullable) return null;
    throw new SchemaMismatch(`${path} is missing`);
  }
  switch (field.kind) {
    case "string":
      if (typeof value !== "string") throw new SchemaMismatch(`${path} is not a string`);
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) throw new SchemaMismatch(`${path} is not an integer`);
      return value;
    case "amount":
      if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
      if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
      throw new SchemaMismatch(`${path} is not an integer amount string`);
    case "boolean":
      if (typeof value !== "boolean") throw new SchemaMismatch(`${path} is not a boolean`);
      return value;
    case "datetime": {
      const date = typeof value === "string" ? new Date(value) : null;
      if (date === null || Number.isNaN(date.getTime())) throw new SchemaMismatch(`${path} is not a date-time`);
      return date;
    }
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) throw new SchemaMismatch(`${path} is not an object`);
      return value;
    case "any":
      return value;
    case "ref":
      return parseWith(field.ref as Spec, value, path);
    case "array":
      if (!Array.isArray(value)) throw new SchemaMismatch(`${path} is not an array`);
      return value.map((item, i) => convert(field.items as Field, item, `${path}[${i}]`));
  }
}

function parseWith(s: Spec, value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SchemaMismatch(`${path} is not an object`);
  }
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = { ...input }; // fields the server adds later are kept
  for (const [key, field] of Object.entries(s.fields)) {
    out[key] = convert(field, input[key], `${path}.${key}`);
  }
  return out;
}

/** Parse a JSON value as `spec` (throws {@link SchemaMismatch}). */
export function parse<T>(s: Spec, value: unknown): T {
  return parseWith(s, value, s.name) as T;
}
