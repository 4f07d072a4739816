"""Latent diffusion policies (paper Sec. 3.3, 7.1-7.2): denoisers, co-training, training loop and rollout.

Import the submodules you need; this package imports nothing heavy by itself:

* configs: :mod:`.configuration`, :mod:`.transformer.configuration`, :mod:`.unet.configuration`,
  :mod:`.train_config` (the YAML training config);
* data: :mod:`.dataset` (Episode, WindowDataset), :mod:`.sources` (synthetic and HDF5 episodes),
  :mod:`.latent` (encoder/decoder callables), :mod:`.sampling` (co-training batches), :mod:`.processing`;
* models: :mod:`.factory` (``make_policy``), :mod:`.base`, :mod:`.blocks`;
* running: :mod:`.training` (``train``/``iter_train``, checkpoints), :mod:`.rollout` (receding-horizon runner).
"""
