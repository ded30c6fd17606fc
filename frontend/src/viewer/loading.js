/**
 * Wait until the view is loaded: every tileset has finished loading the
 * tiles it needs for the current camera (and, for a short grace period, the
 * globe's imagery too).
 */

/**
 * Resolve once every tileset fired `allTilesLoaded` (or reports
 * `tilesLoaded` in a frame rendered after this call: the event only fires
 * when load progress changes, so a tileset with nothing left to load would
 * never fire it again). Then wait for the globe's tiles for at most
 * `globeGraceMs`, so the draped orthophoto is usually in place too without
 * letting a slow globe hold the page in "loading". Call it after the
 * camera was framed.
 *
 * @param {Cesium.CesiumWidget} viewer The viewer.
 * @param {Cesium.Cesium3DTileset[]} tilesets The tilesets to wait for.
 * @param {{ globeGraceMs?: number }} [options] Globe wait limit.
 * @returns {{ promise: Promise<void>, destroy: () => void }} The wait and
 *   a function cancelling it (the promise then never settles).
 */
export function whenViewLoaded(viewer, tilesets, { globeGraceMs = 3000 } = {}) {
  const scene = viewer.scene;
  const pending = new Set(tilesets);
  const removers = [];
  let timer;
  const destroy = () => {
    clearTimeout(timer);
    for (const remove of removers.splice(0)) {
      remove();
    }
  };
  const promise = new Promise((resolve) => {
    const finish = () => {
      destroy();
      resolve();
    };
    const check = () => {
      if (pending.size > 0) {
        return;
      }
      if (scene.globe.tilesLoaded) {
        finish();
      } else if (timer === undefined) {
        timer = setTimeout(finish, globeGraceMs);
      }
    };
    for (const tileset of tilesets) {
      const remove = tileset.allTilesLoaded.addEventListener(() => {
        pending.delete(tileset);
        check();
      });
      removers.push(remove);
    }
    let frames = 0;
    const onPostRender = () => {
      frames += 1;
      if (frames > 2) {
        for (const tileset of pending) {
          // A hidden tileset (a shared link can hide a layer) never loads: nothing to wait for.
          if (tileset.tilesLoaded || !tileset.show) {
            pending.delete(tileset);
          }
        }
      }
      check();
      if (frames <= 3) {
        scene.requestRender();
      }
    };
    removers.push(scene.postRender.addEventListener(onPostRender));
    scene.requestRender();
  });
  return { promise, destroy };
}
