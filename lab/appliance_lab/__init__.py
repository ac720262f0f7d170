"""The lab: a simulated single-node appliance on loopback (docs/lab.md).

Honestly named: nothing here talks to a real Talos node or Kubernetes API server. The
kubernetes API (``apiserver``) serves the in-memory ``store`` over real HTTP; simulated
controllers (``controllers``) move objects through realistic states driven by a scenario.
The CLI never imports this package: the lab registers itself as a target (``target.LabTarget``)
and as the ``appliance lab`` command group through entry points (``lab/pyproject.toml``).
"""
