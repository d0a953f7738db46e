/** Health rules per kind (gitops-engine's checks), on objects shaped as the API server returns them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceHealth, worstHealth } from "../../shared/health/index.js";
import type { KubeObject } from "../../shared/model.js";

const o = (apiVersion: string, kind: string, rest: Record<string, unknown>, generation = 1): KubeObject => ({ apiVersion, kind, metadata: { name: "x", namespace: "n", generation }, ...rest });
const h = (obj: KubeObject | undefined, kind = obj!.kind, apiVersion = obj!.apiVersion) => resourceHealth(kind, apiVersion, obj)?.status;

test("Deployment: Healthy when rolled out; Progressing while rolling; Degraded past its deadline; Suspended when paused", () => {
  const dep = (spec: Record<string, unknown>, status: Record<string, unknown>, gen = 1) =>
    o("apps/v1", "Deployment", { spec: { replicas: 2, ...spec }, status: { observedGeneration: 1, ...status } }, gen);
  assert.equal(h(dep({}, { replicas: 2, updatedReplicas: 2, availableReplicas: 2 })), "Healthy");
  assert.equal(h(dep({}, { replicas: 2, updatedReplicas: 1, availableReplicas: 1 })), "Progressing");
  assert.equal(h(dep({}, { replicas: 3, updatedReplicas: 2, availableReplicas: 2 })), "Progressing", "old replicas pending termination");
  assert.equal(h(dep({}, { replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2)), "Progressing", "generation not observed yet");
  assert.equal(h(dep({}, { replicas: 2, updatedReplicas: 1, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] })), "Degraded");
  assert.equal(h(dep({ paused: true }, {})), "Suspended");
});

test("StatefulSet, DaemonSet, ReplicaSet", () => {
  assert.equal(h(o("apps/v1", "StatefulSet", { spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, currentRevision: "a", updateRevision: "a" } })), "Healthy");
  assert.equal(h(o("apps/v1", "StatefulSet", { spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, currentRevision: "a", updateRevision: "b" } })), "Progressing");
  assert.equal(h(o("apps/v1", "DaemonSet", { status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 } })), "Progressing");
  assert.equal(h(o("apps/v1", "DaemonSet", { status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 } })), "Healthy");
  assert.equal(h(o("apps/v1", "ReplicaSet", { spec: { replicas: 1 }, status: { observedGeneration: 1, conditions: [{ type: "ReplicaFailure", status: "True", message: "quota" }] } })), "Degraded");
});

test("Pod: phases and bad waiting reasons", () => {
  const pod = (status: Record<string, unknown>) => o("v1", "Pod", { spec: { restartPolicy: "Always" }, status });
  assert.equal(h(pod({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] })), "Healthy");
  assert.equal(h(pod({ phase: "Running", conditions: [{ type: "Ready", status: "False" }] })), "Progressing");
  assert.equal(h(pod({ phase: "Pending" })), "Progressing");
  assert.equal(h(pod({ phase: "Failed" })), "Degraded");
  assert.equal(h(pod({ phase: "Running", containerStatuses: [{ name: "c", state: { waiting: { reason: "CrashLoopBackOff" } } }] })), "Degraded");
});

test("Service (LoadBalancer), Ingress, PVC, Job, CronJob, HPA, APIService, CRD", () => {
  assert.equal(h(o("v1", "Service", { spec: { type: "ClusterIP" } })), "Healthy");
  assert.equal(h(o("v1", "Service", { spec: { type: "LoadBalancer" }, status: { loadBalancer: {} } })), "Progressing");
  assert.equal(h(o("v1", "Service", { spec: { type: "LoadBalancer" }, status: { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } } })), "Healthy");
  assert.equal(h(o("networking.k8s.io/v1", "Ingress", { status: { loadBalancer: {} } })), "Progressing");
  assert.equal(h(o("v1", "PersistentVolumeClaim", { status: { phase: "Bound" } })), "Healthy");
  assert.equal(h(o("v1", "PersistentVolumeClaim", { status: { phase: "Lost" } })), "Degraded");
  assert.equal(h(o("batch/v1", "Job", { status: { conditions: [{ type: "Complete", status: "True" }] } })), "Healthy");
  assert.equal(h(o("batch/v1", "Job", { status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] } })), "Degraded");
  assert.equal(h(o("batch/v1", "Job", { spec: { suspend: true }, status: {} })), "Suspended");
  assert.equal(h(o("batch/v1", "CronJob", { spec: { suspend: true } })), "Suspended");
  assert.equal(h(o("autoscaling/v2", "HorizontalPodAutoscaler", { status: { conditions: [{ type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric" }] } })), "Degraded");
  assert.equal(
    h(
      o("autoscaling/v2", "HorizontalPodAutoscaler", {
        status: {
          conditions: [
            { type: "AbleToScale", status: "True" },
            { type: "ScalingActive", status: "True" },
          ],
        },
      }),
    ),
    "Healthy",
  );
  assert.equal(h(o("apiregistration.k8s.io/v1", "APIService", { status: { conditions: [{ type: "Available", status: "False", message: "unreachable" }] } })), "Degraded");
  assert.equal(h(o("apiextensions.k8s.io/v1", "CustomResourceDefinition", { status: { conditions: [{ type: "Established", status: "True" }] } })), "Healthy");
  // the conditions the API server sets while it installs a new CRD, then when a name is taken
  const installing = [
    { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found" },
    { type: "Established", status: "False", reason: "Installing", message: "the initial names have been accepted" },
  ];
  assert.equal(h(o("apiextensions.k8s.io/v1", "CustomResourceDefinition", { status: { conditions: installing } })), "Progressing");
  const conflict = [
    { type: "NamesAccepted", status: "False", reason: "PluralConflict", message: '"gizmos" is already in use' },
    { type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted" },
  ];
  assert.equal(h(o("apiextensions.k8s.io/v1", "CustomResourceDefinition", { status: { conditions: conflict } })), "Degraded");
});

test("a missing object is Missing; kinds without a check have no health; the cluster takes the worst", () => {
  assert.equal(resourceHealth("Deployment", "apps/v1", undefined)?.status, "Missing");
  assert.equal(resourceHealth("ConfigMap", "v1", o("v1", "ConfigMap", {})), undefined);
  assert.equal(worstHealth([]), "Healthy");
  assert.equal(worstHealth(["Healthy", "Progressing", "Suspended"]), "Progressing");
  assert.equal(worstHealth(["Progressing", "Degraded", "Missing"]), "Degraded");
});
