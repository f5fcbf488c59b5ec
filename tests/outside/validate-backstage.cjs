// Every entity of the Backstage export, checked with Backstage's own catalog model (@backstage/catalog-model):
// the policies the catalog backend applies when it reads a catalog-info.yaml, the validator of each kind, and
// every relation (owner, providesApis) pointing at an entity of the same export.
// Usage: node validate-backstage.cjs entities.json   (the export's YAML documents as one JSON array)
"use strict";
const fs = require("node:fs");
const model = require("@backstage/catalog-model");

const policy = model.EntityPolicies.allOf([
  new model.SchemaValidEntityPolicy(),
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
]);
const validators = [
  model.apiEntityV1alpha1Validator,
  model.componentEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
];
// The API types Backstage's API docs render (plus wsdl, which its WSDL plugin renders).
const RENDERED_API_TYPES = new Set(["openapi", "asyncapi", "graphql", "grpc", "wsdl"]);

async function check(entity, refs) {
  await policy.enforce(entity);
  const matched = await Promise.all(validators.map((v) => v.check(entity)));
  if (!matched.some(Boolean)) throw new Error(`no validator of kind ${entity.kind}`);
  if (entity.kind === "API" && !RENDERED_API_TYPES.has(entity.spec.type)) {
    throw new Error(`API type ${entity.spec.type} is not one Backstage renders`);
  }
  const targets = [];
  if (entity.spec.owner) targets.push(model.parseEntityRef(entity.spec.owner, { defaultKind: "Group" }));
  for (const api of entity.spec.providesApis || []) targets.push(model.parseEntityRef(api, { defaultKind: "API" }));
  for (const target of targets) {
    const ref = model.stringifyEntityRef(target);
    if (!refs.has(ref)) throw new Error(`relation to ${ref}, which is not in the export`);
  }
}

async function main() {
  const entities = JSON.parse(fs.readFileSync(process.argv[2], "utf-8"));
  const refs = new Set(entities.map((e) => model.stringifyEntityRef(e)));
  const kinds = {};
  let passed = 0;
  let failed = 0;
  for (const entity of entities) {
    try {
      await check(entity, refs);
      passed += 1;
      const key = `${entity.kind}/${entity.spec.type}`;
      kinds[key] = (kinds[key] || 0) + 1;
    } catch (error) {
      failed += 1;
      console.log(`FAILED ${entity.kind} ${entity.metadata && entity.metadata.name}: ${error.message}`);
    }
  }
  console.log(`Backstage entities by kind and type: ${JSON.stringify(kinds)}`);
  console.log(`backstage: ${passed} passed, ${failed} failed`);
  process.exit(failed || !passed ? 1 : 0);
}

main();
