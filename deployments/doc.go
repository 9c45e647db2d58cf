// Package deployments holds todoku's deployment files: the Dockerfile,
// compose.yaml with its example.env, and the Kubernetes manifests under k8s/
// (a kustomize base and an example overlay). It has no code of its own; its
// tests check those files without a container engine: every manifest decodes
// strictly into the Kubernetes API types, the kustomizations render, compose
// wiring is consistent, and the Dockerfile's build line yields a static binary.
// See README.md.
package deployments
