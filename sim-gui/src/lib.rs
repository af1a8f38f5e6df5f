//! sim-gui
