// js-spin: a hostile test guest that loops for ever in `update`: stopped at its deadline.
import { field, plugin } from './glint.js';

export const describe = () => plugin('js-spin', 'Test guest: an endless loop', { fields: [field('n', 'number', 'never')] });

export function update() {
  let n = 0;
  for (;;) n += 1;
}
