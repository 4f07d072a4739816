"""Qt views of the studio models (lad_core.studio); wiring only, no algorithms."""
