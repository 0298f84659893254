// The default theme, with the Topology component (the generated pictures of docs/generated/diagrams) and its styles,
// and the Playground (the generator in the page).
import DefaultTheme from 'vitepress/theme';
import type { Theme } from 'vitepress';
import { defineAsyncComponent } from 'vue';
import Topology from './Topology.vue';
import './custom.css';

const theme: Theme = {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('Topology', Topology);
    // The generator is large: only the playground page loads it.
    app.component('Playground', defineAsyncComponent(() => import('./Playground.vue')));
  },
};
export default theme;
