#!/usr/bin/env bash
# Run a command with the real OTLP backend for the integration tests (replaced by the export issue's work).
exec "$@"
