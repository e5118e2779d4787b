import { useState } from 'react';

export interface Box {
  label: string;
  /** [x, y, width, height] in the image's own pixels, from its top-left corner. */
  bbox: number[];
}

/**
 * An image with labelled boxes drawn over it, placed in percent of the image's natural size
 * so they follow however large the image is shown.
 */
export function ImageWithBoxes({ src, alt, boxes, width, height }: { src: string; alt: string; boxes: Box[]; width?: number; height?: number }) {
  const [loaded, setLoaded] = useState<{ width: number; height: number } | null>(null);
  const size = width && height ? { width, height } : loaded;
  return (
    <div className="boxed-image">
      <img src={src} alt={alt} onLoad={(event) => setLoaded({ width: event.currentTarget.naturalWidth, height: event.currentTarget.naturalHeight })} />
      {size &&
        boxes
          .filter((box) => box.bbox.length === 4)
          .map((box, index) => {
            const [x = 0, y = 0, w = 0, h = 0] = box.bbox;
            return (
              <div
                key={index}
                className="box"
                aria-hidden="true"
                style={{
                  left: `${(x / size.width) * 100}%`,
                  top: `${(y / size.height) * 100}%`,
                  width: `${(w / size.width) * 100}%`,
                  height: `${(h / size.height) * 100}%`,
                }}
              >
                <span>{box.label}</span>
              </div>
            );
          })}
    </div>
  );
}
