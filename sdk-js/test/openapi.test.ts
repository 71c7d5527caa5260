/**
 * The TS types against the running server's `/openapi.json` (as sdk/tests/test_sdk_openapi.py
 * does for Python): every field of each response type exists in its schema with a compatible
 * type and nullability, and every schema property is in the type; enums, request bodies and
 * the streams filters match; every API method of the SDK calls a documented route.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Auth,
  DIRECTIONS,
  InvoiceLinkStatus,
  InvoiceLinks,
  LIST_STREAMS_PARAMS,
  NebulaClient,
  REQUEST_FIELDS,
  RESPONSE_SPECS,
  SORTS,
  StatsResource,
  StreamStatus,
  Streams,
  SyncStatusResource,
  signChallenge,
  type Field,
  type Spec,
} from "../src/index.js";
import { CONTRACT, KEYPAIR, TOKEN, account, world } from "./helpers.js";

interface Schema {
  type?: string;
  format?: string;
  $ref?: string;
  anyOf?: Schema[];
  items?: Schema;
  enum?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: unknown;
}
interface OpenAPI {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  components: { schemas: Record<string, Schema> };
}

let spec: OpenAPI | null = null;
async function openapi(): Promise<OpenAPI> {
  spec ??= (await (await fetch(`${world.apiUrl}/openapi.json`)).json()) as OpenAPI;
  return spec;
}

const refName = (s: Schema): string | null => (s.$ref ? (s.$ref.split("/").pop() as string) : null);

/** `[the non-null schema, whether null is allowed]`. */
function unwrap(s: Schema): [Schema, boolean] {
  if (!s.anyOf) return [s, false];
  const others = s.anyOf.filter((x) => x.type !== "null");
  assert.equal(others.length, 1, `one non-null variant in ${JSON.stringify(s)}`);
  return [others[0] as Schema, others.length !== s.anyOf.length];
}

function compatible(field: Field, property: Schema, schemas: Record<string, Schema>, where: string): void {
  const [s, nullable] = unwrap(property);
  if (field.kind !== "any") assert.equal(field.nullable, nullable, `${where}: nullable in the TS type iff in the schema`);
  const target = refName(s) ? (schemas[refName(s) as string] as Schema) : s;
  switch (field.kind) {
    case "string":
      assert.equal(target.type, "string", where);
      return;
    case "amount": // i128 base units: decimal strings on the wire, bigint in TS
      assert.equal(target.type, "string", `${where}: an amount is a decimal string`);
      return;
    case "integer":
      assert.equal(target.type, "integer", where);
      return;
    case "boolean":
      assert.equal(target.type, "boolean", where);
      return;
    case "datetime":
      assert.deepEqual([target.type, target.format], ["string", "date-time"], where);
      return;
    case "object":
      assert.equal(target.type, "object", where);
      return;
    case "any":
      return;
    case "ref":
      assert.equal(refName(s), (field.ref as Spec).schema, `${where}: the nested type's schema`);
      return;
    case "array":
      assert.equal(target.type, "array", where);
      compatible(field.items as Field, target.items as Schema, schemas, `${where}[]`);
      return;
  }
}

function checkResponseTypes({ components }: OpenAPI): void {
  for (const s of RESPONSE_SPECS) {
    const schema = components.schemas[s.schema];
    assert.ok(schema?.properties, `${s.name}: no schema ${s.schema} in /openapi.json`);
    assert.deepEqual(
      Object.keys(s.fields).sort(),
      Object.keys(schema.properties).sort(),
      `${s.name} has exactly the fields of ${s.schema}`,
    );
    for (const [name, field] of Object.entries(s.fields)) {
      compatible(field, schema.properties[name] as Schema, components.schemas, `${s.name}.${name}`);
    }
  }
}

test("every field of every response type matches its OpenAPI schema, both ways", async () => {
  assert.ok(RESPONSE_SPECS.length >= 14);
  checkResponseTypes(await openapi());
});

test("the check catches drift: a retyped, a renamed, a new and a nullable field", async () => {
  const mutate = async (change: (schemas: Record<string, Schema>) => void, pattern: RegExp): Promise<void> => {
    const copy = JSON.parse(JSON.stringify(await openapi())) as OpenAPI;
    change(copy.components.schemas);
    assert.throws(() => checkResponseTypes(copy), pattern);
  };
  const props = (schemas: Record<string, Schema>, name: string): Record<string, Schema> => schemas[name]?.properties as Record<string, Schema>;
  await mutate((s) => (props(s, "StreamOut").totalAmount = { type: "integer" }), /Stream\.totalAmount: an amount is a decimal string/);
  await mutate((s) => {
    const p = props(s, "YieldOut");
    p.apy = p.apyBps as Schema;
    delete p.apyBps;
  }, /YieldData has exactly the fields of YieldOut/);
  await mutate((s) => (props(s, "StatsOut").newCounter = { type: "integer" }), /Stats has exactly the fields/);
  await mutate((s) => (props(s, "TokenInfoOut").decimals = { type: "string" }), /TokenInfo\.decimals/);
  await mutate((s) => (props(s, "StreamOut").tokenInfo = { type: "object" }), /Stream\.tokenInfo: the nested type's schema/);
  await mutate((s) => (props(s, "InvoiceLinkOut").slug = { anyOf: [{ type: "string" }, { type: "null" }] }), /InvoiceLink\.slug: nullable/);
});

test("enums: StreamStatus, InvoiceLinkStatus, Direction, Sort", async () => {
  const { components } = await openapi();
  assert.deepEqual(Object.values(StreamStatus), components.schemas.StreamStatus?.enum);
  assert.deepEqual(Object.values(InvoiceLinkStatus), components.schemas.InvoiceStatus?.enum);
  assert.deepEqual([...DIRECTIONS], components.schemas.Direction?.enum);
  assert.deepEqual([...SORTS], components.schemas.Sort?.enum);
});

test("request bodies and every GET /api/v1/streams filter", async () => {
  const { components, paths } = await openapi();
  for (const [schema, fields] of Object.entries(REQUEST_FIELDS)) {
    assert.deepEqual([...fields].sort(), Object.keys(components.schemas[schema]?.properties ?? {}).sort(), schema);
  }
  const query = (paths["/api/v1/streams"]?.get?.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
  assert.deepEqual([...LIST_STREAMS_PARAMS].sort(), query.sort());
});

test("every API method of the SDK calls a documented route", async () => {
  const { paths } = await openapi();
  const routes = Object.entries(paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => [method.toUpperCase(), new RegExp(`^${path.replace(/\{[^/]+\}/g, "[^/]+")}$`)] as const),
  );
  const seen: [string, string, string][] = [];
  let current = "?";
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    seen.push([current, (init?.method ?? "GET").toUpperCase(), url.pathname]);
    return fetch(input, init);
  };
  const client = new NebulaClient(world.apiUrl, { fetch: recording, timeout: 10 });
  const sid = `${CONTRACT}-0`;
  let link: { id: string; slug: string } = { id: "", slug: "" };
  const calls: Record<string, () => Promise<unknown>> = {
    "Auth.challenge": () => client.auth.challenge(KEYPAIR.publicKey()),
    "Auth.login": () => client.auth.login(KEYPAIR),
    "Auth.token": async () => client.auth.token(signChallenge(await client.auth.challenge(KEYPAIR.publicKey()), KEYPAIR)),
    "Streams.list": () => client.streams.list(),
    "Streams.retrieve": () => client.streams.retrieve(sid),
    "Streams.waitFor": () => client.streams.waitFor(sid),
    "Streams.listEvents": () => client.streams.listEvents(sid),
    "Streams.retrieveHistory": () => client.streams.retrieveHistory(sid),
    "Streams.retrieveYield": () => client.streams.retrieveYield(sid),
    "Streams.projectYield": () => client.streams.projectYield(sid, 3),
    "Streams.search": () => client.streams.search("x".repeat(5)),
    "Streams.exportCsv": () => client.streams.exportCsv(account(1)),
    "StatsResource.retrieve": () => client.stats.retrieve(),
    "SyncStatusResource.retrieve": () => client.syncStatus.retrieve(),
    "InvoiceLinks.create": async () => {
      link = await client.invoiceLinks.create({ receiver: account(2), amount: 1n, tokenAddress: TOKEN, duration: 60 });
    },
    "InvoiceLinks.retrieve": () => client.invoiceLinks.retrieve(link.slug),
    "InvoiceLinks.list": () => client.invoiceLinks.list(),
    "InvoiceLinks.updateStatus": () => client.invoiceLinks.updateStatus(link.id, "CANCELED"),
    "InvoiceLinks.delete": () => client.invoiceLinks.delete(link.id),
  };
  for (const [name, call] of Object.entries(calls)) {
    current = name;
    await call();
  }
  const contractCalls = new Set(["Streams.create", "Streams.withdraw", "Streams.cancel", "Streams.topUp", "InvoiceLinks.pay"]);
  const publicMethods = [Auth, Streams, InvoiceLinks, StatsResource, SyncStatusResource].flatMap((cls) =>
    Object.getOwnPropertyNames(cls.prototype)
      .filter((m) => m !== "constructor")
      .map((m) => `${cls.name}.${m}`),
  );
  assert.deepEqual(publicMethods.filter((m) => !contractCalls.has(m)).sort(), Object.keys(calls).sort(), "every API method is exercised here");
  assert.deepEqual(new Set(seen.map(([name]) => name)), new Set(Object.keys(calls)));
  for (const [name, method, path] of seen) {
    assert.ok(routes.some(([m, rx]) => m === method && rx.test(path)), `${name}: ${method} ${path} is not in /openapi.json`);
  }
});
