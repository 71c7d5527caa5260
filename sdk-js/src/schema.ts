/**
 * Field specs of the API's response types: each TS type's fields, their wire kinds, and how to
 * turn the JSON into the type (amounts: decimal strings -> `bigint`; times: ISO strings ->
 * `Date`). The same specs are checked against the running server's `/openapi.json` by the tests,
 * so a field the server renames, retypes or adds fails the SDK's test run.
 */

export type Kind = "string" | "integer" | "amount" | "boolean" | "datetime" | "object" | "any";

export interface Field<K extends string = Kind | "ref" | "array", N extends boolean = boolean, O extends boolean = boolean> {
  readonly kind: K;
  readonly nullable: N;
  /** The field may be absent (older servers do not send it): left out of the parse. */
  readonly optional: O;
  /** For `ref`: the nested spec; for `array`: the item field. */
  readonly ref?: Spec;
  readonly items?: Field;
}

export interface Spec {
  readonly name: string;
  /** The server's OpenAPI schema this type is checked against. */
  readonly schema: string;
  readonly fields: Readonly<Record<string, Field>>;
  /** Turns the parsed wire object into the SDK's shape (e.g. a search hit flattened). */
  readonly build?: (parsed: Record<string, unknown>) => unknown;
}

export const f = {
  string: (): Field<"string", false, false> => ({ kind: "string", nullable: false, optional: false }),
  integer: (): Field<"integer", false, false> => ({ kind: "integer", nullable: false, optional: false }),
  amount: (): Field<"amount", false, false> => ({ kind: "amount", nullable: false, optional: false }),
  boolean: (): Field<"boolean", false, false> => ({ kind: "boolean", nullable: false, optional: false }),
  datetime: (): Field<"datetime", false, false> => ({ kind: "datetime", nullable: false, optional: false }),
  object: (): Field<"object", false, false> => ({ kind: "object", nullable: false, optional: false }),
  ref: (spec: Spec): Field<"ref", false, false> => ({ kind: "ref", nullable: false, optional: false, ref: spec }),
  array: (items: Field): Field<"array", false, false> => ({ kind: "array", nullable: false, optional: false, items }),
  nullable: <K extends string>(field: Field<K, false, false>): Field<K, true, false> => ({ ...field, nullable: true }),
  /** A field older servers do not send (`field?: T` in the type): absent (or null) is left out. */
  optional: <K extends string>(field: Field<K, false, false>): Field<K, false, true> => ({ ...field, optional: true }),
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
/**
 * The field spec a TS field type needs: its kind, nullable exactly when the type has null, and
 * optional exactly when the field is (`field?: T`).
 */
export type FieldOf<T> = Field<KindOf<NonNullable<T>>, null extends T ? true : false, undefined extends T ? true : false>;

/**
 * A spec whose keys are exactly `T`'s, each of the kind and nullability of `T`'s field (checked
 * at compile time); the tests check the same spec against the server's OpenAPI at run time.
 */
export function spec<T>(
  name: string,
  schema: string,
  fields: { [K in keyof Required<T>]: FieldOf<T[K]> },
  build?: (parsed: T) => unknown,
): Spec {
  const s: Spec = { name, schema, fields: fields as unknown as Record<string, Field> };
  return build ? { ...s, build: build as unknown as (parsed: Record<string, unknown>) => unknown } : s;
}

/** What `convert` answers for an optional field that is absent: the key is left out. */
const ABSENT = Symbol("absent");

export class SchemaMismatch extends Error {}

function convert(field: Field, value: unknown, path: string): unknown {
  if (value === null || value === undefined) {
    if (field.optional) return ABSENT;
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

function parseWith(s: Spec, value: unknown, path: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SchemaMismatch(`${path} is not an object`);
  }
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = { ...input }; // fields the server adds later are kept
  for (const [key, field] of Object.entries(s.fields)) {
    const converted = convert(field, input[key], `${path}.${key}`);
    if (converted === ABSENT) delete out[key];
    else out[key] = converted;
  }
  return s.build ? s.build(out) : out;
}

/** Parse a JSON value as `spec` (throws {@link SchemaMismatch}). */
export function parse<T>(s: Spec, value: unknown): T {
  return parseWith(s, value, s.name) as T;
}
