package deployments_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// manifestSet holds decoded Kubernetes objects by kind.
type manifestSet struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	Ingresses       []*networkingv1.Ingress
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	PDBs            []*policyv1.PodDisruptionBudget
	Secrets         []*corev1.Secret
	ServiceAccounts []*corev1.ServiceAccount
	Jobs            []*batchv1.Job
	ConfigMaps      []*corev1.ConfigMap
	Namespaces      []*corev1.Namespace
	// meta lists every object's kind and metadata, in input order.
	meta []objectMeta
}

type objectMeta struct {
	Kind string
	metav1.ObjectMeta
}

// decodeStrict decodes one YAML document into the Kubernetes API type its
// apiVersion and kind name. Duplicate keys, unknown fields, trailing data and
// kinds this project does not use are errors. It returns nil, nil for an
// empty document.
func decodeStrict(doc []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		obj = new(appsv1.Deployment)
	case "v1 Service":
		obj = new(corev1.Service)
	case "networking.k8s.io/v1 Ingress":
		obj = new(networkingv1.Ingress)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = new(autoscalingv2.HorizontalPodAutoscaler)
	case "policy/v1 PodDisruptionBudget":
		obj = new(policyv1.PodDisruptionBudget)
	case "v1 Secret":
		obj = new(corev1.Secret)
	case "v1 ServiceAccount":
		obj = new(corev1.ServiceAccount)
	case "batch/v1 Job":
		obj = new(batchv1.Job)
	case "v1 ConfigMap":
		obj = new(corev1.ConfigMap)
	case "v1 Namespace":
		obj = new(corev1.Namespace)
	default:
		return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data after the object", tm.Kind)
	}
	return obj, nil
}

// add decodes every document of a (possibly multi-document) YAML stream.
func (s *manifestSet) add(data []byte) error {
	for _, doc := range splitYAML(data) {
		obj, err := decodeStrict(doc)
		if err != nil {
			return err
		}
		if obj == nil {
			continue
		}
		var m metav1.ObjectMeta
		var kind string
		switch o := obj.(type) {
		case *appsv1.Deployment:
			s.Deployments = append(s.Deployments, o)
			m, kind = o.ObjectMeta, "Deployment"
		case *corev1.Service:
			s.Services = append(s.Services, o)
			m, kind = o.ObjectMeta, "Service"
		case *networkingv1.Ingress:
			s.Ingresses = append(s.Ingresses, o)
			m, kind = o.ObjectMeta, "Ingress"
		case *autoscalingv2.HorizontalPodAutoscaler:
			s.HPAs = append(s.HPAs, o)
			m, kind = o.ObjectMeta, "HorizontalPodAutoscaler"
		case *policyv1.PodDisruptionBudget:
			s.PDBs = append(s.PDBs, o)
			m, kind = o.ObjectMeta, "PodDisruptionBudget"
		case *corev1.Secret:
			s.Secrets = append(s.Secrets, o)
			m, kind = o.ObjectMeta, "Secret"
		case *corev1.ServiceAccount:
			s.ServiceAccounts = append(s.ServiceAccounts, o)
			m, kind = o.ObjectMeta, "ServiceAccount"
		case *batchv1.Job:
			s.Jobs = append(s.Jobs, o)
			m, kind = o.ObjectMeta, "Job"
		case *corev1.ConfigMap:
			s.ConfigMaps = append(s.ConfigMaps, o)
			m, kind = o.ObjectMeta, "ConfigMap"
		case *corev1.Namespace:
			s.Namespaces = append(s.Namespaces, o)
			m, kind = o.ObjectMeta, "Namespace"
		}
		if m.Name == "" {
			return fmt.Errorf("a %s without metadata.name", kind)
		}
		s.meta = append(s.meta, objectMeta{Kind: kind, ObjectMeta: m})
	}
	return nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		docs = append(docs, []byte(d))
	}
	return docs
}

// loadDir decodes every manifest file of a directory but its
// kustomization.yaml and *.example.yaml files.
func loadDir(t *testing.T, dir string) *manifestSet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := &manifestSet{}
	for _, f := range files {
		if b := filepath.Base(f); b == "kustomization.yaml" || strings.HasSuffix(b, ".example.yaml") {
			continue
		}
		if err := s.add(readFile(t, f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return s
}

// loadKustomization decodes a kustomization.yaml strictly.
func loadKustomization(t *testing.T, dir string) *kustypes.Kustomization {
	t.Helper()
	path := filepath.Join(dir, "kustomization.yaml")
	j, err := yaml.YAMLToJSONStrict(readFile(t, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var k kustypes.Kustomization
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if k.Kind != kustypes.KustomizationKind || k.APIVersion != kustypes.KustomizationVersion {
		t.Fatalf("%s: apiVersion %q kind %q", path, k.APIVersion, k.Kind)
	}
	return &k
}

var (
	baseDir    = filepath.Join("k8s", "base")
	overlayDir = filepath.Join("k8s", "overlays", "example")
)

func secretExample(t *testing.T) *corev1.Secret {
	t.Helper()
	s := &manifestSet{}
	if err := s.add(readFile(t, filepath.Join(baseDir, "secret.example.yaml"))); err != nil {
		t.Fatal(err)
	}
	if len(s.Secrets) != 1 || len(s.meta) != 1 {
		t.Fatalf("secret.example.yaml: want one Secret, got %d objects", len(s.meta))
	}
	return s.Secrets[0]
}

// TestManifestsDecodeStrictly decodes every YAML file under k8s/ into the
// Kubernetes API types (or kustomize's Kustomization type).
func TestManifestsDecodeStrictly(t *testing.T) {
	n := 0
	err := filepath.WalkDir("k8s", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			t.Errorf("%s: not a .yaml file", path)
			return nil
		}
		n++
		if d.Name() == "kustomization.yaml" {
			loadKustomization(t, filepath.Dir(path))
			return nil
		}
		s := &manifestSet{}
		if err := s.add(readFile(t, path)); err != nil {
			t.Errorf("%s: %v", path, err)
		} else if len(s.meta) == 0 {
			t.Errorf("%s: no object", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("only %d files under k8s/", n)
	}
}

// TestDecodeStrictRejects shows that the strict decoding the other tests rely
// on does fail on the usual mistakes.
func TestDecodeStrictRejects(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		ok        bool
	}{
		{"valid", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nautomountServiceAccountToken: false\n", true},
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replica: 3}\n", false},
		{"misplaced field", "apiVersion: v1\nkind: Service\nmetadata: {name: a, selector: {a: b}}\n", false},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: three}\n", false},
		{"duplicate key", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nmetadata: {name: b}\n", false},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", false},
		{"old apiVersion", "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n", false},
		{"no name", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&manifestSet{}).add([]byte(tc.doc))
			if (err == nil) != tc.ok {
				t.Errorf("add(%q) error = %v, want ok %v", tc.doc, err, tc.ok)
			}
		})
	}
}

// TestBase checks the base manifests as written and the base kustomization.
func TestBase(t *testing.T) {
	k := loadKustomization(t, baseDir)
	s := loadDir(t, baseDir)
	secret := secretExample(t)

	// Every manifest file of the base is a resource, but the Secret example.
	files, _ := filepath.Glob(filepath.Join(baseDir, "*.yaml"))
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && b != "secret.example.yaml" {
			want = append(want, b)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("base resources = %q, want %q", got, want)
	}
	if slices.Contains(k.Resources, "secret.example.yaml") {
		t.Errorf("secret.example.yaml must not be a resource of the base")
	}

	// The example Secret: the credentials and a PostgreSQL DATABASE_URL,
	// each a setting the binary reads, and how to create the real one.
	settings := settingNames(t)
	for _, key := range []string{"LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "DATABASE_URL"} {
		if _, ok := secret.StringData[key]; !ok {
			t.Errorf("secret.example.yaml: no %s", key)
		}
	}
	for key := range secret.StringData {
		if !settings[key] {
			t.Errorf("secret.example.yaml: %s is not a setting of app/config.go", key)
		}
	}
	if !strings.HasPrefix(secret.StringData["DATABASE_URL"], "postgres://") {
		t.Errorf("secret.example.yaml: several replicas need a postgres:// DATABASE_URL, got %q", secret.StringData["DATABASE_URL"])
	}
	if raw := string(readFile(t, filepath.Join(baseDir, "secret.example.yaml"))); !strings.Contains(raw, "kubectl") ||
		!strings.Contains(raw, "create secret generic "+secret.Name) {
		t.Errorf("secret.example.yaml: no `kubectl create secret generic %s` instructions", secret.Name)
	}

	// The configMapGenerator literals stand in for the rendered ConfigMap.
	configs := map[string]map[string]string{}
	for _, g := range k.ConfigMapGenerator {
		data := map[string]string{}
		for _, l := range g.LiteralSources {
			key, v, _ := strings.Cut(l, "=")
			data[key] = v
		}
		configs[g.Name] = data
	}
	if len(s.ConfigMaps) != 0 || len(s.Namespaces) != 0 {
		t.Errorf("the base should not hold ConfigMap or Namespace files")
	}
	checkApp(t, s, secret, configs, 3)
}

// render runs kustomize (the library behind kubectl kustomize) on a
// directory and decodes every resulting object strictly.
func render(t *testing.T, dir string) *manifestSet {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	s := &manifestSet{}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.add(y); err != nil {
			t.Fatalf("kustomize build %s: %s/%s: %v", dir, r.GetKind(), r.GetName(), err)
		}
	}
	return s
}

func renderedConfigs(s *manifestSet) map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, c := range s.ConfigMaps {
		m[c.Name] = c.Data
	}
	return m
}

func TestKustomizeBase(t *testing.T) {
	s := render(t, baseDir)
	if len(s.ConfigMaps) != 1 {
		t.Fatalf("base renders %d ConfigMaps, want 1", len(s.ConfigMaps))
	}
	for _, m := range s.meta {
		if m.Namespace != "" {
			t.Errorf("base %s/%s has namespace %q; leave it to overlays", m.Kind, m.Name, m.Namespace)
		}
		if m.Labels["app.kubernetes.io/part-of"] != "todoku" {
			t.Errorf("base %s/%s lacks the part-of label", m.Kind, m.Name)
		}
	}
	checkApp(t, s, secretExample(t), renderedConfigs(s), 3)
}

func TestKustomizeOverlay(t *testing.T) {
	k := loadKustomization(t, overlayDir)
	s := render(t, overlayDir)
	if k.Namespace == "" || len(k.Images) != 1 || len(k.Replicas) != 1 {
		t.Fatalf("the example overlay should set namespace, one image and replicas: %+v", k)
	}
	ns := k.Namespace
	wantImage := k.Images[0].NewName + ":" + k.Images[0].NewTag
	wantReplicas := int32(k.Replicas[0].Count)
	if wantReplicas == 3 {
		t.Errorf("the overlay's replica count equals the base's: the patch is not shown to work")
	}

	if len(s.Namespaces) != 1 || s.Namespaces[0].Name != ns {
		t.Errorf("overlay renders namespaces %v, want %s", s.Namespaces, ns)
	} else if s.Namespaces[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s does not enforce the restricted Pod Security Standard", ns)
	}
	for _, m := range s.meta {
		if m.Kind != "Namespace" && m.Namespace != ns {
			t.Errorf("%s/%s is in namespace %q, want %q", m.Kind, m.Name, m.Namespace, ns)
		}
	}
	for _, d := range s.Deployments {
		if got := d.Spec.Template.Spec.Containers[0].Image; got != wantImage {
			t.Errorf("Deployment image = %q, want %q", got, wantImage)
		}
	}
	for _, j := range s.Jobs {
		if got := j.Spec.Template.Spec.Containers[0].Image; got != wantImage {
			t.Errorf("Job image = %q, want %q", got, wantImage)
		}
	}
	base := render(t, baseDir)
	if got, old := s.Ingresses[0].Spec.Rules[0].Host, base.Ingresses[0].Spec.Rules[0].Host; got == old {
		t.Errorf("overlay Ingress host = %q, the base's; want the overlay's host", got)
	}
	checkApp(t, s, secretExample(t), renderedConfigs(s), wantReplicas)
}

func selectorMatches(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return !s.Empty() && s.Matches(labels.Set(l))
}

// portOf resolves a named or numbered port of a container.
func portOf(c corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

// checkRestricted checks a pod spec against the restricted Pod Security
// Standard and the image's user, and that it has resources and no token.
func checkRestricted(t *testing.T, what string, ps corev1.PodSpec, uid int) {
	t.Helper()
	psc := ps.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if ps.HostNetwork || ps.HostPID || ps.HostIPC {
		t.Errorf("%s: uses host namespaces", what)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken should be false", what)
	}
	for _, c := range ps.Containers {
		what := what + "/" + c.Name
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", what)
			continue
		}
		nonRoot := cmp.Or(sc.RunAsNonRoot, psc.RunAsNonRoot)
		if nonRoot == nil || !*nonRoot {
			t.Errorf("%s: runAsNonRoot is not true", what)
		}
		if u := cmp.Or(sc.RunAsUser, psc.RunAsUser); u != nil && (*u == 0 || *u != int64(uid)) {
			t.Errorf("%s: runAsUser %d, want the image's user %d", what, *u, uid)
		}
		sp := cmp.Or(sc.SeccompProfile, psc.SeccompProfile)
		if sp == nil || (sp.Type != corev1.SeccompProfileTypeRuntimeDefault && sp.Type != corev1.SeccompProfileTypeLocalhost) {
			t.Errorf("%s: seccompProfile should be RuntimeDefault", what)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation should be false", what)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", what)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities should drop ALL and add none", what)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem should be true", what)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[r]
			lim, okLim := c.Resources.Limits[r]
			if !okReq || !okLim || req.IsZero() || lim.IsZero() {
				t.Errorf("%s: %s request and limit must both be set", what, r)
			} else if req.Cmp(lim) > 0 {
				t.Errorf("%s: %s request %s above limit %s", what, r, req.String(), lim.String())
			}
		}
	}
}

// checkApp checks the objects that make up todoku on Kubernetes and how they
// refer to each other. configs maps ConfigMap names to their data.
func checkApp(t *testing.T, s *manifestSet, secret *corev1.Secret, configs map[string]map[string]string, wantReplicas int32) {
	t.Helper()
	for _, c := range []struct {
		kind string
		n    int
	}{
		{"Deployment", len(s.Deployments)}, {"Service", len(s.Services)}, {"Ingress", len(s.Ingresses)},
		{"HorizontalPodAutoscaler", len(s.HPAs)}, {"PodDisruptionBudget", len(s.PDBs)},
		{"Job", len(s.Jobs)}, {"ServiceAccount", len(s.ServiceAccounts)},
	} {
		if c.n != 1 {
			t.Fatalf("%d %s objects, want 1", c.n, c.kind)
		}
	}
	if len(s.Secrets) != 0 {
		t.Errorf("a Secret is part of the manifests; credentials must be created separately")
	}
	df := dockerfile(t)
	settings := settingNames(t)
	d, svc, ing, hpa, pdb, job, sa := s.Deployments[0], s.Services[0], s.Ingresses[0], s.HPAs[0], s.PDBs[0], s.Jobs[0], s.ServiceAccounts[0]
	podLabels := d.Spec.Template.Labels
	jobLabels := job.Spec.Template.Labels

	// Deployment.
	if d.Spec.Replicas == nil || *d.Spec.Replicas != wantReplicas {
		t.Errorf("Deployment replicas = %v, want %d", d.Spec.Replicas, wantReplicas)
	}
	if !selectorMatches(t, d.Spec.Selector, podLabels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", d.Spec.Selector, podLabels)
	}
	if selectorMatches(t, d.Spec.Selector, jobLabels) {
		t.Errorf("Deployment selector matches the migrate Job's pods")
	}
	ps := d.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("Deployment has %d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	if !slices.Equal(c.Args, []string{"serve"}) || len(c.Command) != 0 {
		t.Errorf("Deployment runs command %q args %q, want the image's entrypoint with [serve]", c.Command, c.Args)
	}
	http := intstr.FromString("http")
	port := portOf(c, http)
	if !slices.Contains(df.Expose, int(port)) {
		t.Errorf("container port %q = %d, the image exposes %v", "http", port, df.Expose)
	}
	for _, p := range []struct {
		name, path string
		probe      *corev1.Probe
	}{
		{"readiness", "/readyz", c.ReadinessProbe},
		{"liveness", "/healthz", c.LivenessProbe},
		{"startup", "/healthz", c.StartupProbe},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || portOf(c, p.probe.HTTPGet.Port) != port {
			t.Errorf("%s probe GET %s on port %v, want %s on %d", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path, port)
		}
	}
	checkRestricted(t, "Deployment", ps, df.UID)

	// Graceful termination: preStop sleep first, then SIGTERM with time
	// left to drain.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Errorf("no preStop sleep: the load balancer may still send requests after SIGTERM")
	} else if grace := ps.TerminationGracePeriodSeconds; grace == nil || *grace < c.Lifecycle.PreStop.Sleep.Seconds+15 {
		t.Errorf("terminationGracePeriodSeconds %v leaves under 15 s to drain after the %d s preStop", grace, c.Lifecycle.PreStop.Sleep.Seconds)
	}
	if len(ps.TopologySpreadConstraints) == 0 {
		t.Errorf("no topology spread constraints")
	}
	for _, tsc := range ps.TopologySpreadConstraints {
		if !selectorMatches(t, tsc.LabelSelector, podLabels) {
			t.Errorf("topology spread on %s does not select the pods", tsc.TopologyKey)
		}
	}
	if ps.ServiceAccountName != sa.Name {
		t.Errorf("Deployment uses ServiceAccount %q, want %q", ps.ServiceAccountName, sa.Name)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount should set automountServiceAccountToken: false")
	}

	// Configuration: the Secret, generated ConfigMaps, the image's ENV.
	checkEnv := func(what string, c corev1.Container) map[string]string {
		env := maps.Clone(df.Env)
		hasSecret := false
		for _, e := range c.EnvFrom {
			switch {
			case e.SecretRef != nil:
				if e.SecretRef.Name != secret.Name {
					t.Errorf("%s: envFrom Secret %q, the example is %q", what, e.SecretRef.Name, secret.Name)
				}
				hasSecret = true
				for k, v := range secret.StringData {
					env[k] = v
				}
			case e.ConfigMapRef != nil:
				data, ok := configs[e.ConfigMapRef.Name]
				if !ok {
					t.Errorf("%s: envFrom ConfigMap %q does not exist (have %v)", what, e.ConfigMapRef.Name, slices.Collect(maps.Keys(configs)))
				}
				maps.Copy(env, data)
			}
		}
		if !hasSecret {
			t.Errorf("%s: does not read the Secret %q", what, secret.Name)
		}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		for k := range env {
			if !settings[k] && !goRuntimeVars[k] {
				t.Errorf("%s: variable %s is not a setting of app/config.go", what, k)
			}
		}
		return env
	}
	env := checkEnv("Deployment", c)
	if _, p, err := splitHostPort(env["ADDR"]); err != nil || int32(p) != port {
		t.Errorf("the server listens on ADDR=%q, the container port is %d", env["ADDR"], port)
	}
	if !strings.HasPrefix(env["DATABASE_URL"], "postgres://") {
		t.Errorf("DATABASE_URL for %d replicas is %q, want PostgreSQL", wantReplicas, env["DATABASE_URL"])
	}

	// Service.
	if !selectorMatches(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) {
		t.Errorf("Service selector %v does not match the pods %v", svc.Spec.Selector, podLabels)
	}
	if selectorMatches(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, jobLabels) {
		t.Errorf("Service selector %v also matches the migrate Job's pods", svc.Spec.Selector)
	}
	svcPorts := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		if portOf(c, p.TargetPort) != port {
			t.Errorf("Service port %s targets %v, not the container's %d", p.Name, p.TargetPort.String(), port)
		}
		svcPorts[p.Name] = p.Port
	}

	// Ingress: TLS for every host; /callback and / reach the Service.
	if len(ing.Spec.TLS) == 0 {
		t.Errorf("Ingress has no TLS: LINE needs an HTTPS webhook URL")
	}
	var tlsHosts []string
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" {
			t.Errorf("Ingress TLS for %v has no secretName", tls.Hosts)
		}
		tlsHosts = append(tlsHosts, tls.Hosts...)
	}
	paths := map[string]bool{}
	for _, r := range ing.Spec.Rules {
		if r.Host == "" || !slices.Contains(tlsHosts, r.Host) {
			t.Errorf("Ingress host %q is not covered by TLS hosts %v", r.Host, tlsHosts)
		}
		if r.HTTP == nil {
			t.Errorf("Ingress rule %q has no paths", r.Host)
			continue
		}
		for _, p := range r.HTTP.Paths {
			paths[p.Path] = true
			b := p.Backend.Service
			if b == nil || b.Name != svc.Name {
				t.Errorf("Ingress path %s does not go to Service %s", p.Path, svc.Name)
				continue
			}
			if _, ok := svcPorts[b.Port.Name]; b.Port.Name != "" && !ok {
				t.Errorf("Ingress path %s uses port %q the Service does not have", p.Path, b.Port.Name)
			}
			if b.Port.Name == "" && !slices.Contains(slices.Collect(maps.Values(svcPorts)), b.Port.Number) {
				t.Errorf("Ingress path %s uses port %d the Service does not have", p.Path, b.Port.Number)
			}
		}
	}
	if !paths["/callback"] {
		t.Errorf("Ingress has no path /callback")
	}
	// Only the webhook is public: a catch-all rule would publish /metrics.
	for p := range paths {
		if p != "/callback" {
			t.Errorf("Ingress publishes %s; only /callback should be reachable from outside", p)
		}
	}

	// HorizontalPodAutoscaler.
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA targets %s %s/%s, want apps/v1 Deployment/%s", ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != wantReplicas || hpa.Spec.MaxReplicas <= wantReplicas {
		t.Errorf("HPA min %d max %d: want min = the Deployment's %d replicas and max above it", *cmp.Or(hpa.Spec.MinReplicas, new(int32)), hpa.Spec.MaxReplicas, wantReplicas)
	}
	cpu := false
	for _, m := range hpa.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
			cpu = true
		}
	}
	if !cpu {
		t.Errorf("HPA has no CPU utilization metric")
	}

	// PodDisruptionBudget.
	if !selectorMatches(t, pdb.Spec.Selector, podLabels) {
		t.Errorf("PDB selector %v does not match the pods %v", pdb.Spec.Selector, podLabels)
	}
	if selectorMatches(t, pdb.Spec.Selector, jobLabels) {
		t.Errorf("PDB selector also matches the migrate Job's pods")
	}
	switch {
	case pdb.Spec.MaxUnavailable != nil && pdb.Spec.MinAvailable == nil:
		if v := pdb.Spec.MaxUnavailable; v.Type != intstr.Int || v.IntVal < 1 || v.IntVal >= wantReplicas {
			t.Errorf("PDB maxUnavailable %s: want 1..replicas-1", v.String())
		}
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable == nil:
		if v := pdb.Spec.MinAvailable; v.Type != intstr.Int || v.IntVal < 1 || v.IntVal >= wantReplicas {
			t.Errorf("PDB minAvailable %s: want below replicas %d so that nodes can drain", v.String(), wantReplicas)
		}
	default:
		t.Errorf("PDB: set exactly one of minAvailable and maxUnavailable")
	}

	// The migrate Job: same image and Secret, runs `migrate`, not retried forever.
	jps := job.Spec.Template.Spec
	if len(jps.Containers) != 1 {
		t.Fatalf("Job has %d containers, want 1", len(jps.Containers))
	}
	jc := jps.Containers[0]
	if !slices.Equal(jc.Args, []string{"migrate"}) || len(jc.Command) != 0 {
		t.Errorf("Job runs command %q args %q, want the image's entrypoint with [migrate]", jc.Command, jc.Args)
	}
	if jc.Image != c.Image {
		t.Errorf("Job image %q differs from the Deployment's %q", jc.Image, c.Image)
	}
	if jps.RestartPolicy != corev1.RestartPolicyNever && jps.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("Job restartPolicy %q", jps.RestartPolicy)
	}
	if job.Spec.BackoffLimit == nil || job.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("Job needs backoffLimit and activeDeadlineSeconds so a failing migration stops")
	}
	if jobLabels["app.kubernetes.io/component"] != "migrate" {
		t.Errorf("Job pod labels %v: want app.kubernetes.io/component=migrate (the README applies it with -l)", jobLabels)
	}
	if job.Labels["app.kubernetes.io/component"] != "migrate" {
		t.Errorf("Job labels %v: want app.kubernetes.io/component=migrate (the README applies it with -l)", job.Labels)
	}
	for _, e := range jc.EnvFrom {
		if e.ConfigMapRef != nil {
			t.Errorf("Job reads ConfigMap %s: applied alone with -l it must need only the Secret", e.ConfigMapRef.Name)
		}
	}
	checkEnv("Job", jc)
	checkRestricted(t, "Job", jps, df.UID)
}

// goRuntimeVars are the Go runtime's own variables, which a manifest may
// set besides todoku's settings.
var goRuntimeVars = map[string]bool{"GOGC": true, "GOMEMLIMIT": true, "GOMAXPROCS": true, "GODEBUG": true}
