"""Test helpers of the webhook backend, for this suite and for anyone writing a receiver:

- `tma_webhook.testing.receiver`: a receiver on 127.0.0.1 that verifies signatures,
  de-duplicates by delivery id and injects failures (`python -m tma_webhook.testing.receiver`
  runs one to watch real deliveries);
- `tma_webhook.testing.fixtures`: pytest fixtures (`webhook_receiver`, `webhook_backend`).

Nothing here is imported by the agent itself; import the module you need.
"""
