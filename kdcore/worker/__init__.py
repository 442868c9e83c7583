"""The worker: processes that claim queued runs from the store and train them.

Layer: above the engine and the store. ``processes`` (what the dashboard calls: the local
worker, liveness) imports neither the engine nor the loop; ``loop`` serves the queue;
``reporter`` streams progress into the store; ``runner`` names what trains a run (the
engine's pipeline, imported only when a run starts).
"""
