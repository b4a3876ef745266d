#!/usr/bin/env node
// Checks the Kubernetes manifests of cluster-config/kubernetes/ offline, as .ci/run does:
//   1. every document of every *.yaml validates against the Kubernetes JSON schema of its apiVersion and kind
//      (kubernetes-models' validators, generated from Kubernetes' OpenAPI schemas: types, required fields, enums, formats);
//   2. the documents fit together: what the StatefulSet names (service, service account, ConfigMap, volume claim, Secret)
//      exists among them, its selector matches its pods' labels, its container has the port named "management" that
//      Kubernetes API discovery reads, the Role grants get/list/watch on pods to that service account, and the
//      experiment in the ConfigMap uses cluster.discovery = kubernetes-api.
// Unknown fields (a misspelt key) are not caught: the schemas allow them, as the API server's non-strict decoding does;
// `kubectl apply --dry-run=server -f cluster-config/kubernetes/` against a real cluster does.
//   node validate.mjs [DIR]               check the manifests (of DIR, default the folder above); exit 1 naming each problem
//   node validate.mjs --self-test [DIR]   check that deliberately broken copies of them are each rejected; exit 1 if one is not
// Install first: npm ci (in this folder).
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const manifestsDir = process.argv.slice(2).find(a => !a.startsWith("--")) ?? resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The manifests: [{ file, index, doc }] of every YAML document of every *.yaml file in the folder. */
function readManifests(dir) {
  const files = readdirSync(dir).filter(f => f.endsWith(".yaml") || f.endsWith(".yml")).sort();
  if (files.length === 0) throw new Error(`no *.yaml in ${dir}`);
  return files.flatMap(file =>
    yaml.loadAll(readFileSync(join(dir, file), "utf8"))
      .filter(doc => doc !== null && doc !== undefined)
      .map((doc, index) => ({ file, index, doc })));
}

/** Schema problems of one document ("" when it is valid). */
async function schemaProblem(doc) {
  if (typeof doc !== "object" || Array.isArray(doc)) return "is not a YAML mapping";
  if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") return "needs apiVersion and kind";
  let models;
  try {
    models = await import(`kubernetes-models/${doc.apiVersion}`);
  } catch {
    return `unknown apiVersion '${doc.apiVersion}'`;
  }
  const Model = models[doc.kind];
  if (typeof Model !== "function" || typeof Model.prototype.validate !== "function")
    return `unknown kind '${doc.kind}' in ${doc.apiVersion}`;
  try {
    new Model(doc).validate();
  } catch (e) {
    return `${doc.kind}: ${String(e.message).split("\n").join("; ")}`;
  }
  if (!doc.metadata?.name) return `${doc.kind} has no metadata.name`;
  return "";
}

/** Cross-document problems (what the StatefulSet refers to must be there and fit). */
function referenceProblems(docs) {
  const problems = [];
  const named = (kind, name) => docs.some(d => d.kind === kind && d.metadata?.name === name);
  const sets = docs.filter(d => d.kind === "StatefulSet");
  if (sets.length !== 1) return [`expected one StatefulSet, found ${sets.length}`];
  const set = sets[0];
  const pod = set.spec?.template?.spec ?? {};
  const labels = set.spec?.template?.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(set.spec?.selector?.matchLabels ?? {}))
    if (labels[key] !== value) problems.push(`StatefulSet selector ${key}=${value} does not match its pod labels`);
  if (!named("Service", set.spec?.serviceName)) problems.push(`StatefulSet serviceName '${set.spec?.serviceName}' is no Service here`);
  const account = pod.serviceAccountName;
  if (!named("ServiceAccount", account)) problems.push(`StatefulSet serviceAccountName '${account}' is no ServiceAccount here`);
  for (const volume of pod.volumes ?? []) {
    if (volume.persistentVolumeClaim && !named("PersistentVolumeClaim", volume.persistentVolumeClaim.claimName))
      problems.push(`volume '${volume.name}' claims '${volume.persistentVolumeClaim.claimName}', no PersistentVolumeClaim here`);
    if (volume.configMap && !named("ConfigMap", volume.configMap.name))
      problems.push(`volume '${volume.name}' mounts ConfigMap '${volume.configMap.name}', not here`);
  }
  const claims = docs.filter(d => d.kind === "PersistentVolumeClaim");
  for (const claim of claims)
    if (!(claim.spec?.accessModes ?? []).includes("ReadWriteMany"))
      problems.push(`PersistentVolumeClaim '${claim.metadata?.name}' is not ReadWriteMany: every node must read the others' snapshots`);
  const containers = pod.containers ?? [];
  if (!containers.some(c => (c.ports ?? []).some(p => p.name === "management")))
    problems.push("no container port named 'management': Kubernetes API discovery finds a pod's management endpoint by that name");
  if (!containers.some(c => (c.env ?? []).some(e => e.name === "FEDACTORS_CLUSTER_SECRET" && e.valueFrom?.secretKeyRef?.name)))
    problems.push("no FEDACTORS_CLUSTER_SECRET from a Secret: the cluster would be open");
  if (!containers.some(c => c.resources?.limits?.["nvidia.com/gpu"] !== undefined))
    problems.push("no container asks for nvidia.com/gpu");
  const granted = docs.filter(d => d.kind === "RoleBinding" && (d.subjects ?? []).some(s => s.kind === "ServiceAccount" && s.name === account))
    .map(b => docs.find(d => d.kind === b.roleRef?.kind && d.metadata?.name === b.roleRef?.name))
    .filter(Boolean)
    .flatMap(role => role.rules ?? [])
    .filter(rule => (rule.apiGroups ?? []).includes("") && (rule.resources ?? []).includes("pods"))
    .flatMap(rule => rule.verbs ?? []);
  for (const verb of ["get", "list", "watch"])
    if (!granted.includes(verb)) problems.push(`service account '${account}' may not ${verb} pods (Kubernetes API discovery lists them)`);
  const experiments = docs.filter(d => d.kind === "ConfigMap").flatMap(d => Object.values(d.data ?? {}));
  if (!experiments.some(text => /discovery\s*=\s*kubernetes-api/.test(text)))
    problems.push("no ConfigMap experiment sets cluster.discovery = kubernetes-api");
  return problems;
}

/** Every problem of a set of manifests, each naming its file and document. */
async function problemsOf(manifests) {
  const problems = [];
  for (const { file, index, doc } of manifests) {
    const problem = await schemaProblem(doc);
    if (problem) problems.push(`${file} (document ${index + 1}): ${problem}`);
  }
  if (problems.length === 0) problems.push(...referenceProblems(manifests.map(m => m.doc)).map(p => `references: ${p}`));
  return problems;
}

/** Broken copies of the manifests, each of which must be rejected: [what, change applied to a deep copy]. */
const breakages = [
  ["StatefulSet replicas as a word", docs => { find(docs, "StatefulSet").spec.replicas = "four"; }],
  ["StatefulSet without containers", docs => { delete find(docs, "StatefulSet").spec.template.spec.containers; }],
  ["container port as a name", docs => { find(docs, "StatefulSet").spec.template.spec.containers[0].ports[0].containerPort = "remoting"; }],
  ["Service port as text", docs => { find(docs, "Service").spec.ports[0].port = "4053/tcp"; }],
  ["Role verbs not a list", docs => { find(docs, "Role").rules[0].verbs = "list"; }],
  ["misspelt kind", docs => { find(docs, "StatefulSet").kind = "StatefullSet"; }],
  ["unknown apiVersion", docs => { find(docs, "Role").apiVersion = "rbac.authorization.k8s.io/v9"; }],
  ["claim of a volume that is not there", docs => { find(docs, "StatefulSet").spec.template.spec.volumes[0].persistentVolumeClaim.claimName = "elsewhere"; }],
  ["ReadWriteOnce shared volume", docs => { find(docs, "PersistentVolumeClaim").spec.accessModes = ["ReadWriteOnce"]; }],
  ["no management port name", docs => { for (const p of find(docs, "StatefulSet").spec.template.spec.containers[0].ports) if (p.name === "management") p.name = "http"; }],
  ["Role without watch", docs => { find(docs, "Role").rules[0].verbs = ["get", "list"]; }],
  ["selector not matching the pods", docs => { find(docs, "StatefulSet").spec.selector.matchLabels.app = "other"; }],
];

function find(docs, kind) {
  const doc = docs.find(d => d.kind === kind);
  if (!doc) throw new Error(`self-test: no ${kind} among the manifests`);
  return doc;
}

const manifests = readManifests(manifestsDir);
if (process.argv.includes("--self-test")) {
  let failed = 0;
  const clean = await problemsOf(manifests);
  if (clean.length > 0) {
    console.log(`FAILED self-test: the manifests themselves are invalid:\n  ${clean.join("\n  ")}`);
    failed++;
  }
  for (const [what, breakIt] of breakages) {
    const copy = structuredClone(manifests);
    breakIt(copy.map(m => m.doc));
    const problems = await problemsOf(copy);
    if (problems.length === 0) {
      console.log(`FAILED self-test: a broken copy (${what}) passed the check`);
      failed++;
    } else console.log(`ok: rejects ${what}: ${problems[0]}`);
  }
  console.log(`manifest self-test: ${breakages.length + 1 - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
} else {
  const problems = await problemsOf(manifests);
  for (const p of problems) console.log(`invalid: ${p}`);
  const files = new Set(manifests.map(m => m.file));
  if (problems.length > 0) {
    console.log(`${manifestsDir}: ${problems.length} problem(s) in ${files.size} file(s)`);
    process.exit(1);
  }
  console.log(`${manifestsDir}: ${manifests.length} document(s) in ${files.size} file(s) valid against the Kubernetes schemas and each other`);
}
