/**
 * The real-world corpus: which public chart renders into which `test/fixtures/corpus/<name>/manifest.yaml`.
 *
 * Every entry is pinned to a commit of its public GitHub repository. The values used for it are
 * in `tools/corpus/values/<name>.yaml`. Release name and namespace are both the entry's name.
 */

/** A chart dependency copied from its own public repository into the parent chart's `charts/`. */
export interface VendoredChart {
  /** GitHub `owner/name`. */
  repo: string;
  /** The branch or tag `commit` was taken from (informational). */
  ref: string;
  commit: string;
  /** Path of the chart inside the repository; it lands in `charts/<basename of path>/`. */
  path: string;
}

export interface CorpusEntry {
  /** Directory name under `test/fixtures/corpus/`, release name and namespace. */
  name: string;
  /** GitHub `owner/name`. */
  repo: string;
  /** The branch or tag `commit` was taken from (informational). */
  ref: string;
  commit: string;
  /** Path of the chart inside the repository (`.` for the repository root). */
  chartPath: string;
  /**
   * For charts whose Chart.yaml carries a placeholder version that the project's release tooling sets
   * when it packages the chart: render `helm package --version <version> --app-version <appVersion>`.
   */
  packageAs?: { version: string; appVersion: string };
  /** Dependencies declared in Chart.yaml but not committed to the chart's repository. */
  vendor?: VendoredChart[];
}

export const entries: CorpusEntry[] = [
  {
    name: "cert-manager",
    repo: "cert-manager/cert-manager",
    ref: "v1.21.1",
    commit: "24e33194fb39488eff2bbf10c6dc640f407cad44",
    chartPath: "deploy/charts/cert-manager",
    packageAs: { version: "v1.21.1", appVersion: "v1.21.1" },
  },
  {
    name: "traefik",
    repo: "traefik/traefik-helm-chart",
    ref: "master",
    commit: "a8a66d0098703627b2cf352c66b1725c196a734a",
    chartPath: "traefik",
  },
  {
    name: "argo-cd",
    repo: "argoproj/argo-helm",
    ref: "main",
    commit: "af0a9310bacbaa4636018dfe22c801a6d33a5c43",
    chartPath: "charts/argo-cd",
    // Chart.lock pins redis-ha 4.38.0 (disabled by default, but helm needs it present).
    vendor: [{ repo: "DandyDeveloper/charts", ref: "redis-ha-4.38.0", commit: "2e2539a8960ead2c268f48bdde3b2cdf2b2f1ac8", path: "charts/redis-ha" }],
  },
  {
    name: "velero",
    repo: "vmware-tanzu/helm-charts",
    ref: "main",
    commit: "73466ca986bbfe34dbd5c30bbf7d62d545d634a2",
    chartPath: "charts/velero",
  },
  {
    name: "vault",
    repo: "hashicorp/vault-helm",
    ref: "main",
    commit: "aa1c92e4adddbce9660e536dfe5222a88eda6d52",
    chartPath: ".",
  },
  {
    name: "ingress-nginx",
    repo: "kubernetes/ingress-nginx",
    ref: "main",
    commit: "dbb11b92ddb77bee9c35e462479129354c84f939",
    chartPath: "charts/ingress-nginx",
  },
  {
    name: "keda",
    repo: "kedacore/charts",
    ref: "main",
    commit: "1444d00d90d7668cf7f53f270777d039371d90d0",
    chartPath: "keda",
  },
  {
    name: "external-dns",
    repo: "kubernetes-sigs/external-dns",
    ref: "master",
    commit: "2bf1bf8af2b70f23579f9147c1f7e9394f7f83d5",
    chartPath: "charts/external-dns",
  },
  {
    name: "sealed-secrets",
    repo: "bitnami-labs/sealed-secrets",
    ref: "main",
    commit: "86671a8851be1e6c2dfef4e12e2d7c19ed24ac94",
    chartPath: "helm/sealed-secrets",
  },
  {
    name: "metrics-server",
    repo: "kubernetes-sigs/metrics-server",
    ref: "master",
    commit: "5ed5d3a2cf940a8c7541cfbac19af822f4c97844",
    chartPath: "charts/metrics-server",
  },
  {
    name: "metallb",
    repo: "metallb/metallb",
    ref: "metallb-chart-0.16.1",
    commit: "5f188da352c7d30089588372bb8637c9dbb9485e",
    chartPath: "charts/metallb",
    packageAs: { version: "0.16.1", appVersion: "v0.16.1" },
  },
  {
    name: "descheduler",
    repo: "kubernetes-sigs/descheduler",
    ref: "master",
    commit: "7d2b28bf2b6a12810317936d909af0270ff38fa3",
    chartPath: "charts/descheduler",
  },
  {
    name: "kube-state-metrics",
    repo: "prometheus-community/helm-charts",
    ref: "main",
    commit: "cf408a290aec489277a94450bb3511432477a53a",
    chartPath: "charts/kube-state-metrics",
  },
  {
    name: "node-exporter",
    repo: "prometheus-community/helm-charts",
    ref: "main",
    commit: "cf408a290aec489277a94450bb3511432477a53a",
    chartPath: "charts/prometheus-node-exporter",
  },
  {
    name: "prometheus",
    repo: "prometheus-community/helm-charts",
    ref: "main",
    commit: "cf408a290aec489277a94450bb3511432477a53a",
    chartPath: "charts/prometheus",
    // Chart.lock pins the four subcharts at the versions that the same commit holds.
    vendor: ["alertmanager", "kube-state-metrics", "prometheus-node-exporter", "prometheus-pushgateway"].map((c) => ({
      repo: "prometheus-community/helm-charts",
      ref: "main",
      commit: "cf408a290aec489277a94450bb3511432477a53a",
      path: `charts/${c}`,
    })),
  },
  {
    name: "grafana",
    repo: "grafana-community/helm-charts",
    ref: "main",
    commit: "3386a1156177c6bcd7fdb1ad4c6b1dda094296e0",
    chartPath: "charts/grafana",
  },
  {
    name: "gatekeeper",
    repo: "open-policy-agent/gatekeeper",
    ref: "v3.23.0",
    commit: "cdf332c3f2762c616d4b6f433712a8d7ed62b3d8",
    chartPath: "charts/gatekeeper",
  },
];
