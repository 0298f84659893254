// The default theme, with the Topology component (the generated pictures of docs/generated/diagrams) and its styles.
import DefaultTheme from 'vitepress/theme';
import type { Theme } from 'vitepress';
import Topology from './Topology.vue';
import './custom.css';

const theme: Theme = {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('Topology', Topology);
  },
};
export default theme;
