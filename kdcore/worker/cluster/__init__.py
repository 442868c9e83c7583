"""Serving the queue on a Ray cluster: one run per GPU on any node, the store on the head.

``dispatcher`` runs on the head (``python -m kdcore worker --ray auto``): it claims queued runs
from the SQLite store and places each as a Ray task on a node with a free GPU. ``node_task`` is
what runs there (the same :class:`~kdcore.worker.loop.Worker` code as a local worker), talking
to the store through ``store_service``, an actor on the head. ``connect`` turns a missing Ray or
an unreachable address into one clear sentence. Ray is imported only here, and only when a
dispatcher starts; the embedded default (a local worker) never needs it. See docs/cluster.md.
"""
