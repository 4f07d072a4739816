"""The transformer latent diffusion policy of the paper's Fig. 4."""
