// js-raise: a hostile test guest whose `update` throws an Error it does not handle: the call
// traps, with the message (written by glint.js's `guard`), as a Rust plugin's panic does.
import { field, guard, plugin } from './glint.js';

export const describe = () => plugin('js-raise', 'Test guest: throws', { fields: [field('n', 'number', 'never')] });

export const update = guard(() => {
  throw new Error('deliberate exception from js-raise');
});
