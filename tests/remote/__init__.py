"""A second, real Docker engine for the remote-engine tests (issue 15): a dockerd in its own
network and mount namespaces, reached over TCP (plain and TLS) and over ssh to an sshd of
its own. `engine.second_engine` is the pytest fixture; `python -m tests.remote` (or
scripts/remote-engine.sh) starts and stops it by hand."""
