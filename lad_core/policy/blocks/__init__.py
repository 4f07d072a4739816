"""Network blocks (no policy logic): ConditionalUnet1D, the diffusion transformer, ResNet-18 with GroupNorm."""
