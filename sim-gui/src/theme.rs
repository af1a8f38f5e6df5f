//! Colours: one palette for labels, state values and clusters, so the same label is the same
//! colour in every view.

use egui::Color32;

/// A qualitative palette readable on a light background (Tableau 10, darkened a little).
const PALETTE: [Color32; 10] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(127, 127, 127),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(23, 190, 207),
    Color32::from_rgb(214, 39, 40),
];

/// The colour of palette entry `i` (wrapping).
pub fn pick(i: u32) -> Color32 {
    PALETTE[i as usize % PALETTE.len()]
}

/// The colour of a string, stable across runs: a hash of its bytes into the palette.
pub fn of_text(s: &str) -> Color32 {
    // FNV-1a: fixed, so a label keeps its colour between sessions.
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    pick(h)
}

/// Colours of well-known state values (Raft roles, breaker states), else the hash colour.
pub fn of_state(value: &str) -> Color32 {
    match value {
        "leader" => Color32::from_rgb(44, 160, 44),
        "candidate" | "pre-candidate" | "precandidate" => Color32::from_rgb(255, 127, 14),
        "follower" => Color32::from_rgb(31, 119, 180),
        "open" => Color32::from_rgb(214, 39, 40),
        "half-open" => Color32::from_rgb(255, 127, 14),
        "closed" => Color32::from_rgb(44, 160, 44),
        other => of_text(other),
    }
}

/// Messages with no label colouring.
pub const MESSAGE: Color32 = Color32::from_rgb(60, 60, 70);
/// Drops and violations.
pub const DANGER: Color32 = Color32::from_rgb(214, 39, 40);
/// Faults on the lanes.
pub const FAULT: Color32 = Color32::from_rgb(150, 40, 160);
/// The time cursor.
pub const CURSOR: Color32 = Color32::from_rgb(230, 90, 0);
/// Where two runs first differ.
pub const DIVERGENCE: Color32 = Color32::from_rgb(200, 0, 160);
/// Highlighted evidence and the selection.
pub const HIGHLIGHT: Color32 = Color32::from_rgb(255, 196, 0);
