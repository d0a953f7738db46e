/**
 * Discovery, LIST and server-side apply over a `KubeClient`.
 * Discovery is one GET per apiVersion (`/api/v1`, `/apis/<group>/<version>`), cached for the
 * client's life; live objects are read with one LIST per kind and namespace (paginated by
 * 500, the API's chunking: https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks).
 */
import type { KubeClient } from "./client.js";
import { KubeApiError } from "./client.js";
import type { KubeObject } from "../model.js";
import { isSecret, redactMaterial, secretValues } from "../diff/secret.js";

/** One entry of an APIResourceList (`metav1.APIResource`). */
export interface ApiResource {
  /** Plural resource name used in URLs, e.g. `deployments`. */
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

/** The API server does not serve `kind` in `apiVersion` (CRD not installed, wrong version). */
export class UnknownKindError extends Error {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`the server does not serve ${kind} in ${apiVersion}`);
    this.name = "UnknownKindError";
  }
}

/** Field manager name of Converge's server-side applies (visible in `metadata.managedFields`). */
export const FIELD_MANAGER = "converge";

/** Typed access to resources of any kind. */
export class ResourceApi {
  private readonly discovery = new Map<string, Promise<ApiResource[]>>();

  constructor(readonly client: KubeClient) {}

  /** Drops the cached discovery of `apiVersion` (after creating a CRD, its kinds appear). */
  forget(apiVersion: string): void {
    this.discovery.delete(apiVersion);
  }

  /** The resources of `apiVersion` (one GET, cached; an unserved group version gives [] and is not cached). */
  resources(apiVersion: string): Promise<ApiResource[]> {
    let p = this.discovery.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.client
        .request<{ resources: ApiResource[] }>("GET", path)
        .then((r) => r.resources.filter((x) => !x.name.includes("/")))
        .catch((e: unknown) => {
          // not served (yet: a CRD may be created later in this sync): asked again next time
          this.discovery.delete(apiVersion);
          if (e instanceof KubeApiError && e.code === 404) return [];
          throw e;
        });
      this.discovery.set(apiVersion, p);
    }
    return p;
  }

  /**
   * The resource serving `kind` in `apiVersion`.
   * @throws UnknownKindError when the server does not serve it.
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource> {
    const r = (await this.resources(apiVersion)).find((x) => x.kind === kind);
    if (!r) throw new UnknownKindError(apiVersion, kind);
    return r;
  }

  /** Whether `kind` is namespaced; undefined when the server does not serve it. */
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    const r = (await this.resources(apiVersion)).find((x) => x.kind === kind);
    return r?.namespaced;
  }

  private collectionPath(apiVersion: string, res: ApiResource, namespace?: string): string {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return res.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${res.name}` : `${base}/${res.name}`;
  }

  /**
   * Every object of `kind` in `namespace` (all namespaces when omitted for a namespaced
   * kind), with `apiVersion` and `kind` filled in (LIST items lack them).
   * @throws UnknownKindError, KubeApiError, ClusterUnreachableError.
   */
  async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<KubeObject[]> {
    const res = await this.resourceFor(apiVersion, kind);
    const path = this.collectionPath(apiVersion, res, namespace);
    const items: KubeObject[] = [];
    let cont: string | undefined;
    do {
      const page = await this.client.request<{ items: KubeObject[]; metadata?: { continue?: string } }>("GET", path, {
        query: { limit: "500", continue: cont, labelSelector },
      });
      for (const it of page.items) items.push({ ...it, apiVersion, kind });
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  /**
   * JSON merge patch dry-run of `obj` (https://www.rfc-editor.org/rfc/rfc7386): what the
   * server would store, including structural-schema pruning of unknown custom resource fields,
   * which server-side apply refuses instead ("field not declared in schema").
   * @throws UnknownKindError, KubeApiError, ClusterUnreachableError.
   */
  async mergePatchDryRun(obj: KubeObject): Promise<KubeObject> {
    const res = await this.resourceFor(obj.apiVersion, obj.kind);
    const path = `${this.collectionPath(obj.apiVersion, res, obj.metadata.namespace)}/${encodeURIComponent(obj.metadata.name)}`;
    return this.write<KubeObject>(obj, "PATCH", path, { body: obj, contentType: "application/merge-patch+json", query: { dryRun: "All", fieldManager: FIELD_MANAGER } });
  }

  /**
   * Server-side apply of `obj` (https://kubernetes.io/docs/reference/using-api/server-side-apply/)
   * with field manager `converge`, `force` taking over conflicting fields as `kubectl apply
   * --server-side --force-conflicts` does. `dryRun` asks the server to run every admission
   * stage without persisting.
   * @returns the object as the server stored (or would store) it.
   * @throws UnknownKindError, KubeApiError (e.g. 422 invalid), ClusterUnreachableError.
   */
  async apply(obj: KubeObject, opts: { dryRun?: boolean; force?: boolean; fieldManager?: string } = {}): Promise<KubeObject> {
    const res = await this.resourceFor(obj.apiVersion, obj.kind);
    const path = `${this.collectionPath(obj.apiVersion, res, obj.metadata.namespace)}/${encodeURIComponent(obj.metadata.name)}`;
    return this.write<KubeObject>(obj, "PATCH", path, {
      body: obj,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: opts.fieldManager ?? FIELD_MANAGER, force: String(opts.force ?? true), dryRun: opts.dryRun ? "All" : undefined },
    });
  }

  /**
   * Sends a write whose body is `obj` (or a copy with its values); a refusal of a Secret comes
   * back without the Secret's values: the API server's message may quote a value it could not
   * read (`.stringData.pin: expected string, got &value.valueUnstructured{Value:1234}`, HTTP
   * 500), and the message is stored, announced and logged (shared/diff/secret.ts `secretValues`).
   * @throws KubeApiError, ClusterUnreachableError.
   */
  private async write<T>(obj: KubeObject, method: string, path: string, opts: { body: unknown; contentType?: string; query?: Record<string, string | undefined> }): Promise<T> {
    try {
      return await this.client.request<T>(method, path, opts);
    } catch (err) {
      if (!(err instanceof KubeApiError) || !isSecret(obj) || !err.status?.message) throw err;
      throw new KubeApiError(err.code, err.method, err.path, { ...err.status, message: redactMaterial(err.status.message, secretValues(obj)) });
    }
  }

  private objectPath(obj: { apiVersion: string; metadata: { name: string; namespace?: string } }, res: ApiResource): string {
    return `${this.collectionPath(obj.apiVersion, res, obj.metadata.namespace)}/${encodeURIComponent(obj.metadata.name)}`;
  }

  /**
   * The live object, or undefined when it does not exist (HTTP 404).
   * @throws UnknownKindError, KubeApiError other than 404, ClusterUnreachableError.
   */
  async get(ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<KubeObject | undefined> {
    const res = await this.resourceFor(ref.apiVersion, ref.kind);
    try {
      const o = await this.client.request<KubeObject>("GET", this.objectPath(ref, res));
      return { ...o, apiVersion: ref.apiVersion, kind: ref.kind };
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /**
   * Deletes an object with `propagationPolicy` (`Foreground` by default, as Argo CD prunes;
   * https://kubernetes.io/docs/concepts/architecture/garbage-collection/#foreground-deletion).
   * @returns false when it was already gone (HTTP 404).
   * @throws UnknownKindError, KubeApiError, ClusterUnreachableError.
   */
  async delete(ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }, propagationPolicy: "Foreground" | "Background" | "Orphan" = "Foreground"): Promise<boolean> {
    const res = await this.resourceFor(ref.apiVersion, ref.kind);
    try {
      await this.client.request("DELETE", this.objectPath(ref, res), { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy } });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return false;
      throw err;
    }
  }

  /**
   * Replaces an object whole (`kubectl replace`; Argo CD's `Replace=true`): PUT with the live
   * resourceVersion, or POST when it does not exist.
   * @throws UnknownKindError, KubeApiError (422 invalid, 409 conflict), ClusterUnreachableError.
   */
  async replace(obj: KubeObject, fieldManager = FIELD_MANAGER): Promise<KubeObject> {
    const res = await this.resourceFor(obj.apiVersion, obj.kind);
    const live = await this.get(obj);
    if (!live) return this.write<KubeObject>(obj, "POST", this.collectionPath(obj.apiVersion, res, obj.metadata.namespace), { body: obj, query: { fieldManager } });
    const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: live.metadata.resourceVersion } };
    return this.write<KubeObject>(obj, "PUT", this.objectPath(obj, res), { body, query: { fieldManager } });
  }
}
