#!/usr/bin/env python3
"""Turns `kubectl kustomize deploy/kubernetes/overlays/kernel-driver` into what `podman kube play`
runs on this host in place of the cluster (scripts/lab up --kube).

  kube-pod.py NAME IMAGE VOLUMES_DIR POD_OUT CONFIGMAP_OUT < rendered.yaml
prints the host path where the network-status file goes.

The pod keeps what the manifests say about the processes: the two containers, their commands,
users, capabilities, read-only roots, seccomp profile, resources, volume mounts and env.
What changes, and why:
  - the Deployment becomes its pod template as a Pod named NAME-fw (there is no controller);
  - the image is IMAGE, the root fs scripts/make-image-rootfs built, imported (no registry);
  - the device plugin's part: a container that limits `intel.com/...` pools gets the
    PCIDEVICE_<POOL> variables the plugin would set (the kernel-driver configuration does not
    read them; a veth has no PCI address, so the addresses are placeholders);
  - Multus's part: the downward API volume with the network-status annotation (podman refuses
    downward API volumes) becomes a host directory, VOLUMES_DIR/NAME-OF-VOLUME, where the lab
    writes the annotation's value once the "VFs" are attached, as Multus does after sriov-cni;
  - emptyDirs become host directories there too, mode 0777 as the kubelet makes them: podman
    makes an emptyDir a volume named after it ("run", shared by every pod that has one) and
    fills it from the image, whose /run vfwall's user cannot write;
  - the ConfigMap vfwall-config becomes NAME-config: podman makes it a named volume too, and
    two labs side by side must not share one;
  - `ports` go: the pod has no cluster network (`--network none`) and podman refuses port
    mappings without one. The probes go: podman makes them healthchecks that run curl (not in
    the image) on the named port (gone with `ports`) from systemd timers (none here); the lab
    asks /healthz and /readyz itself, from the pod's network namespace.
The NetworkAttachmentDefinitions and the device plugin's ConfigMap are the cluster's input, not
the pod's: they are left out.
"""
import os
import sys

import yaml

THE_IMAGE = "localhost/vfwall:latest"
# What a device plugin would hand out, by the pool's side: a VF's PCI address on the host.
PLACEHOLDER_PCI = {"inside": "0000:00:1f.1", "outside": "0000:00:1f.2"}


def device_plugin_variable(resource):
    """intel.com/sriov_netdev_inside -> PCIDEVICE_INTEL_COM_SRIOV_NETDEV_INSIDE"""
    return "PCIDEVICE_" + resource.upper().replace(".", "_").replace("/", "_")


def placeholder_address(resource):
    for side, address in PLACEHOLDER_PCI.items():
        if resource.endswith("_" + side):
            return address
    sys.exit("kube-pod: no placeholder address for the pool %s" % resource)


def block_strings(dumper, text):
    """Multi-line strings (the policy, the sidecar's script) as literal blocks: readable output."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


def pod_of(deployment, name, image, volumes_dir, config_name):
    template = deployment["spec"]["template"]
    spec = template["spec"]
    for container in spec["containers"]:
        if container.get("image") != THE_IMAGE:
            sys.exit("kube-pod: container %s runs %s, not %s" % (container["name"], container.get("image"), THE_IMAGE))
        container["image"] = image
        container["imagePullPolicy"] = "Never"
        for key in ("ports", "startupProbe", "livenessProbe", "readinessProbe"):
            container.pop(key, None)
        pools = [r for r in container.get("resources", {}).get("limits", {}) if r.startswith("intel.com/")]
        for resource in sorted(pools):
            variable = {"name": device_plugin_variable(resource), "value": placeholder_address(resource)}
            container.setdefault("env", []).append(variable)
    for volume in spec["volumes"]:
        if volume.get("configMap", {}).get("name") == "vfwall-config":
            volume["configMap"]["name"] = config_name
        if "downwardAPI" in volume:
            paths = [item["path"] for item in volume.pop("downwardAPI")["items"]]
            if paths != ["network-status"]:
                sys.exit("kube-pod: downward API volume %s: %s, not network-status alone" % (volume["name"], paths))
            path = os.path.join(volumes_dir, volume["name"])
            os.makedirs(path)
            volume["hostPath"] = {"path": path, "type": "Directory"}
            print(os.path.join(path, paths[0]))
        elif "emptyDir" in volume:
            del volume["emptyDir"]
            path = os.path.join(volumes_dir, volume["name"])
            os.makedirs(path)
            os.chmod(path, 0o777)
            volume["hostPath"] = {"path": path, "type": "Directory"}
    metadata = dict(template.get("metadata", {}), name=name + "-fw")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def main(name, image, volumes_dir, pod_out, configmap_out):
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    configmaps = [d for d in docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "vfwall-config"]
    if len(deployments) != 1 or len(configmaps) != 1:
        sys.exit("kube-pod: the rendering must hold one Deployment and the ConfigMap vfwall-config")
    config_name = name + "-config"
    pod = pod_of(deployments[0], name, image, volumes_dir, config_name)
    configmap = configmaps[0]
    configmap["metadata"]["name"] = config_name
    yaml.SafeDumper.add_representer(str, block_strings)
    for document, path in ((pod, pod_out), (configmap, configmap_out)):
        with open(path, "w") as out:
            yaml.safe_dump(document, out, sort_keys=False, width=120)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
