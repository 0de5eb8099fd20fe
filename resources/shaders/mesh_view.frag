#version 330
// MODE 0: the photo as texture, lightly shaded; MODE 1: grey clay. (The wireframe is drawn with lines.vert/frag.)
// The scene compiles one program per mode, with "#define MODE n" after the first line: software GL would run
// both sides of a branch on a uniform, the texture's trilinear fetch included, for every fragment.
#ifndef MODE
#define MODE 0
#endif
#if MODE == 0
uniform sampler2D u_texture;
#endif
uniform vec3 u_light;  // towards the light, world space
in vec3 v_normal;
in vec2 v_uv;
out vec4 f_color;
void main() {
    vec3 n = normalize(v_normal);
    float lambert = abs(dot(n, u_light));  // the mesh is one-sided: light both faces alike
#if MODE == 0
    f_color = vec4(texture(u_texture, v_uv).rgb * (0.75 + 0.25 * lambert), 1.0);
#else
    f_color = vec4(vec3(0.78, 0.76, 0.72) * (0.25 + 0.75 * lambert), 1.0);
#endif
}
