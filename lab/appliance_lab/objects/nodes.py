"""A Talos control-plane Node as the Kubernetes API returns it."""

from __future__ import annotations

from .ids import NODE, NODE_IP, Obj, hexdigest, meta, ts, uid


def node(*, ready: bool = True, created: float = 5400) -> Obj:
    hb = ts(12)
    if ready:
        ready_cond = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": hb,
            "lastTransitionTime": ts(created - 60),
        }
    else:
        ready_cond = {
            "type": "Ready",
            "status": "False",
            "reason": "KubeletNotReady",
            "message": "container runtime network not ready: NetworkReady=false "
            "reason:NetworkPluginNotReady message:Network plugin returns error: "
            "cni plugin not initialized",
            "lastHeartbeatTime": hb,
            "lastTransitionTime": ts(created - 20),
        }
    pressure = [
        {
            "type": t,
            "status": "False",
            "reason": r,
            "message": msg,
            "lastHeartbeatTime": hb,
            "lastTransitionTime": ts(created - 20),
        }
        for t, r, msg in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        )
    ]
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(
            "Node",
            NODE,
            None,
            created=created,
            labels={
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": NODE,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": "",
            },
            annotations={
                "talos.dev/owned-labels": '["node-role.kubernetes.io/control-plane"]',
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        ),
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE}],
            "allocatable": {
                "cpu": "3950m",
                "ephemeral-storage": "47093476167",
                "memory": "7827428Ki",
                "pods": "110",
            },
            "capacity": {"cpu": "4", "ephemeral-storage": "51096868Ki", "memory": "8150052Ki", "pods": "110"},
            "conditions": [*pressure, ready_cond],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": uid("boot", NODE),
                "containerRuntimeVersion": "containerd://2.1.5",
                "kernelVersion": "6.18.1-talos",
                "kubeProxyVersion": "v1.31.4",
                "kubeletVersion": "v1.31.4",
                "machineID": hexdigest("machine", n=32),
                "operatingSystem": "linux",
                "osImage": "Talos (v1.12.0)",
                "systemUUID": uid("system", NODE),
            },
        },
    }
    if not ready:
        obj["spec"]["taints"] = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    return obj
