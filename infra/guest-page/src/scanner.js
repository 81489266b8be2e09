// Reading the intercom's QR code from the camera's video: the browser's own
// BarcodeDetector where it reads QR codes, else jsQR, loaded from its own
// content-hashed file only now (the first screen never pays for it).
const GuestScanner = (function () {
  'use strict';

  /** A function that reads a QR code's text from a video frame (null: none in it). */
  async function decoder() {
    if ('BarcodeDetector' in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes('qr_code')) {
          const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
          return async (video) => {
            const codes = await detector.detect(video);
            return codes.length ? codes[0].rawValue : null;
          };
        }
      } catch (_) { /* fall through to the library */ }
    }
    if (!window.jsQR) {
      await new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = document.body.dataset.decoder;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', { willReadFrequently: true });
    return async (video) => {
      const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      if (!canvas.width || !canvas.height) return null;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
      return found ? found.data : null;
    };
  }

  return { decoder };
})();
