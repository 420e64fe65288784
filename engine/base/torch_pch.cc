// Anchor for the precompiled torch/torch.h shared by engine targets.
