// Anchor for the shared precompiled header of LibTorch units (see RtoHelpers.cmake).
