"""Baselines, resets and named snapshots of the environment's data.

No Textual here: the CLI and the dashboard drive the same code and show its step events.
A fast reset restores the automatic `baseline` state through the plugins' StatefulPlugin
hooks; a hard reset recreates containers and volumes, seeds, and retakes the baseline.
"""
