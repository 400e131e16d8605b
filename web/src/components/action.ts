/** A page's one-click actions (acknowledge, check now, mark processed): their outcome as one message, then the page's data reloaded. */
import { useState } from 'preact/hooks';
import { tick } from '../data.ts';
import { errorText } from './form.tsx';

export interface Actions {
  /** The last action's outcome (or its error), null before any. */
  message: string | null;
  setMessage: (m: string | null) => void;
  /** Runs `fn`; its message is `done` (or what `done` makes of the answer), or the error; the page's panels reload either way. */
  act: <T>(done: string | ((answer: T) => string), fn: () => Promise<T>) => Promise<void>;
}

export function useActions(): Actions {
  const [message, setMessage] = useState<string | null>(null);
  const act = async <T,>(done: string | ((answer: T) => string), fn: () => Promise<T>) => {
    setMessage(null);
    try {
      const answer = await fn();
      setMessage(typeof done === 'string' ? done : done(answer));
    } catch (err) {
      setMessage(errorText(err));
    }
    tick.set(tick.get() + 1);
  };
  return { message, setMessage, act };
}
