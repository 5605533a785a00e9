// Package helm tests the Helm chart in protobridge/: helm lint, helm
// template with several value sets, every rendered manifest decoded
// strictly into the Kubernetes API types (an unknown or misplaced field
// fails, offline, with no cluster), the references between the manifests,
// and the rendered protobridge.yaml checked as the daemon checks it.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	_ "github.com/protobridge/protobridge/adapters/all"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/schema"
)

const chart = "protobridge"

var petstoreProto = "../../examples/petstore/proto/petstore/v1/petstore.proto"

// newObject gives the typed object a kind is decoded into.
func newObject(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}
	}
	return nil
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := testenv.Tool(t, "helm")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// rendered is a helm template's output, decoded.
type rendered struct {
	byKind map[string][]any // kind → typed objects
	names  map[string]bool  // "Kind/name"
}

func render(t *testing.T, args ...string) *rendered {
	t.Helper()
	out, err := helm(t, append([]string{"template", "rel", chart, "--namespace", "shop"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{byKind: map[string][]any{}, names: map[string]bool{}}
	for _, doc := range strings.Split(out, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		if u.Object == nil {
			continue
		}
		obj := newObject(u.GetAPIVersion(), u.GetKind())
		if obj == nil {
			t.Errorf("%s %s: a kind this test does not know: add its type", u.GetAPIVersion(), u.GetKind())
			continue
		}
		// Strict: a field the API type does not have, or a value of the
		// wrong type, is an error, as the API server's validation is.
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Errorf("%s %s does not match the Kubernetes schema: %v", u.GetKind(), u.GetName(), err)
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(u.GetName()) {
			t.Errorf("%s name %q: %s", u.GetKind(), u.GetName(), msg)
		}
		if u.GetKind() == "Service" {
			for _, msg := range validation.IsDNS1035Label(u.GetName()) {
				t.Errorf("Service name %q: %s", u.GetName(), msg)
			}
		}
		r.byKind[u.GetKind()] = append(r.byKind[u.GetKind()], obj)
		r.names[u.GetKind()+"/"+u.GetName()] = true
	}
	return r
}

func (r *rendered) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	for _, o := range r.byKind["Deployment"] {
		if d := o.(*appsv1.Deployment); d.Name == name {
			return d
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
}

// checkWiring checks what the schema cannot: selectors select the pods,
// ports and probes name ports the containers have, volumes and env name
// what exists.
func (r *rendered) checkWiring(t *testing.T, secrets ...string) {
	t.Helper()
	pods := map[string]*corev1.PodTemplateSpec{}
	for _, o := range r.byKind["Deployment"] {
		d := o.(*appsv1.Deployment)
		sel, err := metav1Selector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: its selector does not select its pods (%v)", d.Name, err)
		}
		pods[d.Name] = &d.Spec.Template
		ports := map[string]bool{}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image == "" || c.Name == "" {
				t.Errorf("Deployment %s: a container without name or image", d.Name)
			}
			for _, p := range c.Ports {
				ports[p.Name] = true
				if len(p.Name) > 15 {
					t.Errorf("port name %q is over 15 characters", p.Name)
				}
			}
			for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
				if pr == nil {
					t.Errorf("Deployment %s container %s lacks a probe", d.Name, c.Name)
					continue
				}
				if g := pr.HTTPGet; g != nil && !ports[g.Port.String()] {
					t.Errorf("Deployment %s: a probe names port %s, which the container lacks", d.Name, g.Port.String())
				}
			}
			for _, e := range c.Env {
				if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
					if name := ref.SecretKeyRef.Name; !r.names["Secret/"+name] && !slices.Contains(secrets, name) {
						t.Errorf("env %s names Secret %s, neither rendered nor given", e.Name, name)
					}
				}
			}
			vols := map[string]bool{}
			for _, v := range d.Spec.Template.Spec.Volumes {
				vols[v.Name] = true
				if cm := v.ConfigMap; cm != nil && !r.names["ConfigMap/"+cm.Name] {
					t.Errorf("volume %s names ConfigMap %s, not rendered", v.Name, cm.Name)
				}
			}
			for _, m := range c.VolumeMounts {
				if !vols[m.Name] {
					t.Errorf("mount %s has no volume", m.Name)
				}
			}
		}
	}
	for _, o := range r.byKind["Service"] {
		s := o.(*corev1.Service)
		var pod *corev1.PodTemplateSpec
		for _, p := range pods {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
				pod = p
			}
		}
		if pod == nil {
			t.Errorf("Service %s selects no pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, c := range pod.Spec.Containers {
				for _, cp := range c.Ports {
					found = found || cp.Name == p.TargetPort.String()
				}
			}
			if !found {
				t.Errorf("Service %s port %s targets %s, which the pods lack", s.Name, p.Name, p.TargetPort.String())
			}
		}
	}
	for _, o := range r.byKind["HorizontalPodAutoscaler"] {
		h := o.(*autoscalingv2.HorizontalPodAutoscaler)
		if !r.names["Deployment/"+h.Spec.ScaleTargetRef.Name] {
			t.Errorf("HPA %s scales %s, not rendered", h.Name, h.Spec.ScaleTargetRef.Name)
		}
	}
	for _, o := range r.byKind["PodDisruptionBudget"] {
		p := o.(*policyv1.PodDisruptionBudget)
		sel, err := metav1Selector(p.Spec.Selector)
		if pod := pods["rel-protobridge"]; err != nil || pod == nil || !sel.Matches(labels.Set(pod.Labels)) {
			t.Errorf("PDB %s does not select protobridge's pods", p.Name)
		}
	}
}

// TestChartLint runs helm lint --strict with the default values and the
// CI values.
func TestChartLint(t *testing.T) {
	for _, args := range [][]string{nil, {"--values", chart + "/ci/petstore-values.yaml", "--set-file", `protos.petstore/v1/petstore\.proto=` + petstoreProto}} {
		out, err := helm(t, append([]string{"lint", "--strict", chart}, args...)...)
		if err != nil || !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %v: %v\n%s", args, err, out)
		}
	}
}

// TestChartDefaults renders the default values: the daemon with probes on
// the admin port, HPA and PDB, no Redis, NATS or ServiceMonitor.
func TestChartDefaults(t *testing.T) {
	r := render(t)
	r.checkWiring(t)
	d := r.deployment(t, "rel-protobridge")
	c := d.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes %s and %s, want /readyz and /healthz", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("the pod may run as root")
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("the root file system is writable")
	}
	if d.Spec.Replicas != nil {
		t.Errorf("replicas set although the HPA scales")
	}
	for _, k := range []string{"HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ConfigMap", "Secret"} {
		if len(r.byKind[k]) == 0 {
			t.Errorf("no %s rendered", k)
		}
	}
	for _, k := range []string{"ServiceMonitor"} {
		if len(r.byKind[k]) > 0 {
			t.Errorf("%s rendered although off", k)
		}
	}
	if len(r.byKind["Deployment"]) != 1 {
		t.Errorf("%d Deployments: Redis or NATS run although off", len(r.byKind["Deployment"]))
	}
}

// TestChartPetstore renders the CI values (every optional part on) and
// checks the mounted config as the daemon does: it is written out as the
// pod sees /etc/protobridge, checked against the schema, loaded, and its
// routes built from the proto in the ConfigMap.
func TestChartPetstore(t *testing.T) {
	r := render(t, "--values", chart+"/ci/petstore-values.yaml", "--set-file", `protos.petstore/v1/petstore\.proto=`+petstoreProto)
	r.checkWiring(t, "protobridge-admin", "petstore")
	for _, name := range []string{"Deployment/rel-redis", "Service/rel-redis", "Deployment/rel-nats", "Service/rel-nats", "ServiceMonitor/rel-protobridge"} {
		if !r.names[name] {
			t.Errorf("%s not rendered", name)
		}
	}
	if r.names["Secret/rel-protobridge-admin"] {
		t.Errorf("the chart made an admin Secret although one is referenced")
	}
	sm := r.byKind["ServiceMonitor"][0].(*monitoringv1.ServiceMonitor)
	if ep := sm.Spec.Endpoints[0]; ep.Port != "admin" || ep.Path != "/metrics" || ep.Authorization == nil || ep.Authorization.Credentials.Name != "protobridge-admin" {
		t.Errorf("ServiceMonitor endpoint %+v: want /metrics on admin with the admin token", ep)
	}
	var svcPorts []string
	for _, o := range r.byKind["Service"] {
		if s := o.(*corev1.Service); s.Name == "rel-protobridge" {
			for _, p := range s.Spec.Ports {
				svcPorts = append(svcPorts, fmt.Sprintf("%s:%d", p.Name, p.Port))
			}
		}
	}
	if want := []string{"grpc:50051", "admin:9090", "mcp:8765"}; !slices.Equal(svcPorts, want) {
		t.Errorf("Service ports %v, want %v", svcPorts, want)
	}

	// The pod's /etc/protobridge, from the ConfigMap and the volume's items.
	d := r.deployment(t, "rel-protobridge")
	var cm *corev1.ConfigMap
	for _, o := range r.byKind["ConfigMap"] {
		cm = o.(*corev1.ConfigMap)
	}
	dir := t.TempDir()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		for _, it := range v.ConfigMap.Items {
			text, ok := cm.Data[it.Key]
			if !ok {
				t.Fatalf("volume item %s: no such key in the ConfigMap", it.Key)
			}
			p := filepath.Join(dir, filepath.FromSlash(it.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfgPath := filepath.Join(dir, "protobridge.yaml")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if ps := schema.Check(cfgPath, data); len(ps) > 0 {
		t.Errorf("the rendered config fails the schema:\n%v", ps)
	}
	t.Setenv("PROTOBRIDGE_ADMIN_TOKEN", "t")
	t.Setenv("PETSTORE_API_KEY", "k")
	cfg, err := config.LoadConfig(cfgPath)
	if err != nil {
		t.Fatalf("the rendered config: %v", err)
	}
	if cfg.State.Backend != "redis" || cfg.State.Address != "rel-redis:6379" {
		t.Errorf("state %+v: want the chart's Redis", cfg.State)
	}
	tab, err := router.Build(context.Background(), cfg, router.Options{})
	if err != nil {
		t.Fatalf("building routes from the ConfigMap's proto: %v", err)
	}
	defer tab.Close()
	if len(tab.Routes()) == 0 {
		t.Errorf("no routes")
	}
}

// TestChartNeedsAdminListen: without the admin listener there is nothing
// to probe, and the chart says so.
func TestChartNeedsAdminListen(t *testing.T) {
	_, err := helm(t, "template", "rel", chart, "--set", "config.admin=null")
	if err == nil || !strings.Contains(err.Error(), "config.admin.listen must be set") {
		t.Errorf("want the chart to refuse, got %v", err)
	}
}
