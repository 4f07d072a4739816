"""The U-Net latent diffusion policy (Chi et al.'s ConditionalUnet1D with FiLM conditioning)."""
