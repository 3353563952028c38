// The console's entry point (bundled by build.js into dist/app.js).
import { render } from 'preact';
import { App } from './app';

render(<App />, document.getElementById('app')!);
