// js-membomb: a hostile test guest that allocates without end: stopped at its memory cap.
import { field, plugin } from './glint.js';

const hoard = [];

export const describe = () => plugin('js-membomb', 'Test guest: unbounded allocation', { fields: [field('n', 'number', 'never')] });

export function update() {
  for (;;) hoard.push(new Uint8Array(4 << 20).fill(1));
}
