export const EXAMPLE_PROMPTS = [
  "lo-fi hip hop beat with warm piano and vinyl crackle, 90 bpm",
  "epic orchestral trailer music with big drums and brass",
  "upbeat synthwave with a driving bassline and retro arpeggios",
  "calm acoustic guitar fingerpicking, campfire mood",
  "funky disco groove with slap bass and string stabs, 120 bpm",
  "ambient drone with soft pads and distant bells",
];
