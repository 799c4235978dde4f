"""The Python harness every suite under tests/ shares (tests/pytest.ini puts
tests/lib on the import path; tests/conftest.py loads the fixtures).

  harness       brokerd + gatewayd from the build dir ($CLAWGATE_BUILD) on a private
                root dir and a free loopback port; gatewayctl; waiting, logs, /proc
  fixtures      the pytest fixtures: gateway, make_gateway, tls_gateway, openclaw
  clawclient    the OpenClaw connect handshake as the real clients do it
  frames        the checks of every frame a client receives
  expect        the exact refusals (code, message, details, close frame)
  flows         multi-step flows: pairing, approving, device-token connects
  rawws         a raw WebSocket client for what a library will not send
  protolink     brokerd's internal protocol (proto/proto.h), for fake gateways
  openclaw_cli  Node 24 and the real openclaw CLI from npm, in a cache dir
  upstream      the real OpenClaw gateway as relay mode's upstream (trusted-proxy)
  modelserver   an OpenAI-compatible model server on loopback for that upstream"""
