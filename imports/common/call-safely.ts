/**
 * Call a callback the app or a user registered, so that neither its throw
 * nor its rejected promise reaches the caller: both go to `onError` (which
 * logs them). Used wherever the server calls out to app code it does not
 * control: onConnection, onClose and onStop callbacks, account hooks.
 *
 * Example: `callSafely(() => hook(accountId, info), (error) => log.error('Account hook failed', { error }))`.
 * Caveat: a promise is not awaited; only its rejection is caught.
 */
export function callSafely(callback: () => unknown, onError: (error: unknown) => void): void {
  try {
    const result = callback();
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}
