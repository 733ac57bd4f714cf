// Wellness: reveal videos while they play, re-blur on Escape, and the settings pages' live
// preview. Loaded as a file on every page (the CSP forbids inline script).
"use strict";

(() => {
  const BLUR = /^wellness-blur-\d$/;
  const SCHEME = /^wellness-scheme-/;
  const SCHEME_LABELS = { NONE: "Full colour", GRAYSCALE: "Grayscale", SEPIA: "Sepia" };

  // Media events do not bubble: listen in the capture phase, so media added later (htmx) work.
  const playing = (event) => {
    const media = event.target;
    if (!(media instanceof HTMLVideoElement)) return;
    const figure = media.closest(".wellness");
    if (!figure) return;
    const isPlaying = !media.paused && !media.ended;
    figure.classList.toggle("wellness--playing", isPlaying);
    const button = figure.querySelector("[data-wellness-play]");
    if (button) button.textContent = isPlaying ? "Pause" : "Play to reveal";
  };
  for (const type of ["play", "playing", "pause", "ended", "emptied"]) {
    document.addEventListener(type, playing, true);
  }

  // The native controls are blurred with the video: this button stays legible beside it.
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-wellness-play]");
    const video = button?.closest(".wellness")?.querySelector("video");
    if (!video) return;
    if (video.paused || video.ended) video.play();
    else video.pause();
  });

  // Escape hides a revealed (focused) image or pauses a playing video again.
  document.addEventListener("keydown", (event) => {
    const media = event.target;
    if (event.key !== "Escape" || !media.classList?.contains("wellness__media")) return;
    if (media instanceof HTMLVideoElement) media.pause();
    media.blur();
  });

  // The live preview: `form[data-wellness-preview]` names the preview element; its data-default-*
  // attributes hold the organisation defaults that an empty ("use default") choice stands for.
  const choice = (form, name, fallback) => {
    const field = form.elements[name];
    if (!field) return fallback;
    if (field.type === "checkbox") return field.checked ? "on" : "off";
    return field.value === "" ? fallback : field.value;
  };

  const describe = (blur, scheme, muted) =>
    [
      blur > 0 ? `Blur ${blur} of 6` : "No blur",
      SCHEME_LABELS[scheme] || scheme,
      muted ? "videos muted" : "videos with sound",
    ].join(" · ");

  const update = (form) => {
    const preview = document.getElementById(form.dataset.wellnessPreview);
    if (!preview) return;
    const blur = Number(choice(form, "blur_level", form.dataset.defaultBlur));
    const scheme = choice(form, "color_scheme", form.dataset.defaultScheme);
    const muted = choice(form, "mute_video", form.dataset.defaultMute) === "on";
    for (const figure of preview.querySelectorAll(".wellness")) {
      for (const name of [...figure.classList]) {
        if (BLUR.test(name) || SCHEME.test(name)) figure.classList.remove(name);
      }
      figure.classList.add(`wellness-blur-${blur}`, `wellness-scheme-${scheme.toLowerCase()}`);
      for (const image of figure.querySelectorAll("img.wellness__media")) {
        if (blur > 0) image.tabIndex = 0;
        else image.removeAttribute("tabindex");
      }
      for (const video of figure.querySelectorAll("video")) {
        video.muted = muted;
        video.defaultMuted = muted;
      }
    }
    const summary = preview.querySelector("[data-wellness-summary]");
    if (summary) summary.textContent = describe(blur, scheme, muted);
  };

  const forms = () => document.querySelectorAll("form[data-wellness-preview]");
  document.addEventListener("input", (event) => {
    const form = event.target.closest?.("form[data-wellness-preview]");
    if (form) update(form);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => forms().forEach(update));
  } else {
    forms().forEach(update);
  }
})();
