/**
 * The monitor token: from `?token=` (then removed from the address bar, so
 * it does not end up in history, bookmarks or screenshots) or from the form,
 * kept in sessionStorage for this tab only.
 */
const STORAGE_KEY = 'connectedUsers.monitorToken';

export function takeTokenFromUrl(location: Location, history: History, storage: Storage): string | undefined {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    saveToken(storage, fromUrl);
  }
  return storage.getItem(STORAGE_KEY) || undefined;
}

export function saveToken(storage: Storage, token: string | undefined): void {
  if (token) storage.setItem(STORAGE_KEY, token);
  else storage.removeItem(STORAGE_KEY);
}
