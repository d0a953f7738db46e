/**
 * Health of live resources in Argo CD's vocabulary, following gitops-engine's built-in health
 * checks (pkg/health: health_deployment.go, health_statefulset.go, health_daemonset.go,
 * health_replicaset.go, health_pod.go, health_service.go, health_ingress.go, health_pvc.go,
 * health_job.go, health_hpa.go, health_apiservice.go) and Argo CD's CronJob and CRD checks.
 * A kind without a check has no health and does not count toward the cluster's.
 */
import type { KubeObject } from "../model.js";

/** Health statuses, from best to worst (gitops-engine's `IsWorse` order). */
export const HEALTH_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"] as const;
export type HealthStatus = (typeof HEALTH_ORDER)[number];

/** A resource's health and why. */
export interface Health {
  status: HealthStatus;
  message?: string;
}

type Obj = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
type Condition = { type?: string; status?: string; reason?: string; message?: string };
const conditions = (o: unknown): Condition[] => (get(o, "status", "conditions") as Condition[] | undefined) ?? [];
const condition = (o: unknown, type: string) => conditions(o).find((c) => c.type === type);

function generationObserved(o: KubeObject): boolean {
  const g = o.metadata.generation as number | undefined;
  const seen = get(o, "status", "observedGeneration") as number | undefined;
  return g === undefined || seen === undefined || seen >= g;
}

function deployment(o: KubeObject): Health {
  if (get(o, "spec", "paused") === true) return { status: "Suspended", message: "Deployment is paused" };
  if (!generationObserved(o)) return { status: "Progressing", message: "Waiting for rollout to finish: observed deployment generation less than desired generation" };
  const p = condition(o, "Progressing");
  if (p?.reason === "ProgressDeadlineExceeded") return { status: "Degraded", message: `Deployment "${o.metadata.name}" exceeded its progress deadline` };
  const replicas = (get(o, "spec", "replicas") as number | undefined) ?? 1;
  const updated = num(get(o, "status", "updatedReplicas"));
  const total = num(get(o, "status", "replicas"));
  const available = num(get(o, "status", "availableReplicas"));
  if (updated < replicas) return { status: "Progressing", message: `Waiting for rollout to finish: ${updated} out of ${replicas} new replicas have been updated...` };
  if (total > updated) return { status: "Progressing", message: `Waiting for rollout to finish: ${total - updated} old replicas are pending termination...` };
  if (available < updated) return { status: "Progressing", message: `Waiting for rollout to finish: ${available} of ${updated} updated replicas are available...` };
  return { status: "Healthy" };
}

function statefulSet(o: KubeObject): Health {
  if (!generationObserved(o)) return { status: "Progressing", message: "Waiting for statefulset spec update to be observed..." };
  const replicas = (get(o, "spec", "replicas") as number | undefined) ?? 1;
  const ready = num(get(o, "status", "readyReplicas"));
  if (ready < replicas) return { status: "Progressing", message: `Waiting for ${replicas - ready} pods to be ready...` };
  if (get(o, "spec", "updateStrategy", "type") === "OnDelete") return { status: "Healthy", message: "statefulset has OnDelete update strategy" };
  const cur = get(o, "status", "currentRevision");
  const upd = get(o, "status", "updateRevision");
  if (upd !== undefined && cur !== upd) return { status: "Progressing", message: "waiting for statefulset rolling update to complete" };
  return { status: "Healthy" };
}

function daemonSet(o: KubeObject): Health {
  if (!generationObserved(o)) return { status: "Progressing", message: "Waiting for rollout to finish: observed daemon set generation less than desired generation" };
  const desired = num(get(o, "status", "desiredNumberScheduled"));
  const updated = num(get(o, "status", "updatedNumberScheduled"));
  const available = num(get(o, "status", "numberAvailable"));
  if (get(o, "spec", "updateStrategy", "type") === "OnDelete") return { status: "Healthy" };
  if (updated < desired) return { status: "Progressing", message: `Waiting for daemon set rollout to finish: ${updated} out of ${desired} new pods have been updated...` };
  if (available < desired) return { status: "Progressing", message: `Waiting for daemon set rollout to finish: ${available} of ${desired} updated pods are available...` };
  return { status: "Healthy" };
}

function replicaSet(o: KubeObject): Health {
  if (!generationObserved(o)) return { status: "Progressing", message: "Waiting for rollout to finish: observed replica set generation less than desired generation" };
  const failure = condition(o, "ReplicaFailure");
  if (failure?.status === "True") return { status: "Degraded", message: failure.message };
  const replicas = (get(o, "spec", "replicas") as number | undefined) ?? 1;
  const available = num(get(o, "status", "availableReplicas"));
  if (available < replicas) return { status: "Progressing", message: `Waiting for rollout to finish: ${available} out of ${replicas} new replicas are available...` };
  return { status: "Healthy" };
}

const BAD_WAITING = new Set(["CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "InvalidImageName", "CreateContainerError", "RunContainerError"]);

function pod(o: KubeObject): Health {
  const phase = get(o, "status", "phase");
  const statuses = [...((get(o, "status", "initContainerStatuses") as Obj[] | undefined) ?? []), ...((get(o, "status", "containerStatuses") as Obj[] | undefined) ?? [])];
  for (const s of statuses) {
    const reason = get(s, "state", "waiting", "reason") as string | undefined;
    if (reason && BAD_WAITING.has(reason)) return { status: "Degraded", message: (get(s, "state", "waiting", "message") as string | undefined) ?? reason };
  }
  if (phase === "Pending") return { status: "Progressing", message: (get(o, "status", "message") as string | undefined) ?? "Pod is pending" };
  if (phase === "Succeeded") return { status: "Healthy", message: get(o, "status", "message") as string | undefined };
  if (phase === "Failed") return { status: "Degraded", message: (get(o, "status", "message") as string | undefined) ?? "Pod failed" };
  if (phase === "Running") {
    if (get(o, "spec", "restartPolicy") !== "Always" && get(o, "spec", "restartPolicy") !== undefined) return { status: "Progressing", message: "Pod is running" };
    return condition(o, "Ready")?.status === "True" ? { status: "Healthy" } : { status: "Progressing", message: "Pod is running but not ready" };
  }
  return { status: "Unknown", message: `Pod phase ${String(phase ?? "unknown")}` };
}

function loadBalanced(o: KubeObject): Health {
  const ingress = get(o, "status", "loadBalancer", "ingress") as unknown[] | undefined;
  return ingress && ingress.length > 0 ? { status: "Healthy" } : { status: "Progressing", message: "Waiting for the load balancer to get an address" };
}

function pvc(o: KubeObject): Health {
  const phase = get(o, "status", "phase");
  if (phase === "Bound") return { status: "Healthy" };
  if (phase === "Lost") return { status: "Degraded", message: "claim lost its volume" };
  return { status: "Progressing", message: `claim is ${String(phase ?? "Pending")}` };
}

function job(o: KubeObject): Health {
  const failed = condition(o, "Failed");
  if (failed?.status === "True") return { status: "Degraded", message: failed.message ?? failed.reason };
  const complete = condition(o, "Complete");
  if (complete?.status === "True") return { status: "Healthy", message: complete.message };
  if (get(o, "spec", "suspend") === true) return { status: "Suspended", message: "Job is suspended" };
  return { status: "Progressing", message: "Job is running" };
}

function cronJob(o: KubeObject): Health {
  if (get(o, "spec", "suspend") === true) return { status: "Suspended", message: "CronJob is suspended" };
  return { status: "Healthy" };
}

function hpa(o: KubeObject): Health {
  for (const c of conditions(o)) {
    if ((c.type === "AbleToScale" || c.type === "ScalingActive") && c.status === "False") {
      if (c.reason === "ScalingDisabled") return { status: "Suspended", message: c.message };
      return { status: "Degraded", message: c.message ?? c.reason };
    }
  }
  return conditions(o).length ? { status: "Healthy" } : { status: "Progressing", message: "Waiting to scale" };
}

function availableCondition(type: string, o: KubeObject): Health {
  const c = condition(o, type);
  if (c?.status === "True") return { status: "Healthy" };
  if (c?.status === "False") return { status: "Degraded", message: c.message ?? c.reason };
  return { status: "Progressing", message: `waiting for ${type}` };
}

/**
 * A CRD: Degraded when its names are not accepted; Progressing while the API server installs
 * it (Established False, reason `Installing`, "the initial names have been accepted", which the
 * apiextensions naming controller sets until the CRD is served); else by Established.
 */
function crd(o: KubeObject): Health {
  const names = condition(o, "NamesAccepted");
  if (names?.status === "False") return { status: "Degraded", message: names.message };
  const established = condition(o, "Established");
  if (established?.status === "False" && established.reason === "Installing") return { status: "Progressing", message: established.message };
  return availableCondition("Established", o);
}

/**
 * Health of one live object, or undefined when its kind has no health check.
 * `live` undefined (the object is not in the cluster) is `Missing`.
 */
export function resourceHealth(kind: string, apiVersion: string, live: KubeObject | undefined): Health | undefined {
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  const check = CHECKS[`${group}/${kind}`];
  if (!check) return undefined;
  if (!live) return { status: "Missing", message: "not found in the cluster" };
  return check(live);
}

const CHECKS: Record<string, (o: KubeObject) => Health> = {
  "apps/Deployment": deployment,
  "apps/StatefulSet": statefulSet,
  "apps/DaemonSet": daemonSet,
  "apps/ReplicaSet": replicaSet,
  "/Pod": pod,
  "/Service": (o) => (get(o, "spec", "type") === "LoadBalancer" ? loadBalanced(o) : { status: "Healthy" }),
  "networking.k8s.io/Ingress": loadBalanced,
  "/PersistentVolumeClaim": pvc,
  "batch/Job": job,
  "batch/CronJob": cronJob,
  "autoscaling/HorizontalPodAutoscaler": hpa,
  "apiregistration.k8s.io/APIService": (o) => availableCondition("Available", o),
  "apiextensions.k8s.io/CustomResourceDefinition": crd,
};

/** The worse of two statuses in HEALTH_ORDER. */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  return HEALTH_ORDER.indexOf(a) >= HEALTH_ORDER.indexOf(b) ? a : b;
}

/** The worst status of `statuses` (Healthy when empty): the cluster's health. */
export function worstHealth(statuses: Iterable<HealthStatus>): HealthStatus {
  let h: HealthStatus = "Healthy";
  for (const s of statuses) h = worse(h, s);
  return h;
}
