/**
 * The page of `converge ui`: a hash-routed Preact app over the query API. `#/` is the fleet,
 * `#/clusters/<name>` one cluster; filters and ranges are in the hash's query, so a view can be
 * bookmarked and shared.
 */
import { render } from "preact";
import { useEffect } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ClusterPageView } from "./cluster.js";
import { useRoute } from "./common.js";
import { FleetPageView } from "./fleet.js";

function App() {
  const { path, query } = useRoute();
  const cluster = path[0] === "clusters" && path[1] ? path[1] : undefined;
  useEffect(() => {
    document.title = cluster ? `${cluster} · Converge` : "Fleet · Converge";
  }, [cluster]);
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          <span aria-hidden="true">◎</span> Converge
        </a>
        <span class="muted small">GitOps fleet view</span>
      </header>
      <main id="main" tabIndex={-1}>
        {cluster ? <ClusterPageView key={cluster} name={cluster} query={query} /> : <FleetPageView query={query} />}
      </main>
    </>
  );
}

const root = document.getElementById("app")!;
root.textContent = ""; // the static "Loading…"
render(<App />, root);
